"""Targets at every level: county targets broken down to townships (by the county, or in proportion
to households confirmed) and to villages, so every dashboard shows targets and who is behind, and a
county's page agrees with the city's row for it."""
import json
from collections import Counter
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household
from cleanheat.plan import breakdown, services
from cleanheat.plan.models import CountyPlan, Plan, PlanChange
from cleanheat.plan.dashboard import progress_rows
from cleanheat.regions.models import Region
from cleanheat.versions import StaleEdit

from .conftest import make_user

INSTALLED = STATE_ORDER.index("installed")
XINFU = "140902"


def dashboard_data(client, url):
    page = client.get(url).content.decode()
    return page, json.loads(page.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])


# ---- the arithmetic (pure)

def test_apportion_adds_up_exactly_and_follows_the_weights():
    shares = breakdown.apportion(100, {"a": 1, "b": 1, "c": 1})
    assert sum(shares.values()) == 100 and sorted(shares.values()) == [33, 33, 34]
    assert breakdown.apportion(10, {"a": 3, "b": 1}) == {"a": 8, "b": 2}     # 7.5 / 2.5: the tie to the first
    assert breakdown.apportion(7, {"a": 0, "b": 0}) == {"a": 4, "b": 3}       # no weight: equal shares
    assert breakdown.apportion(5, {}) == {}
    stated = {"a": 120, "b": 0, "c": 31}
    assert breakdown.apportion(151, stated) == stated                         # exact weights come back unchanged


def test_split_shares_targets_by_households_and_the_schedule_by_target():
    households = {"t1": {"electric": 30, "gas": 10}, "t2": {"electric": 10}, "t3": {}}
    shares = breakdown.split({"electric": 80, "gas": 9, "biomass": 5}, {"electric": 41, "gas": 9, "biomass": 2},
                             households)
    assert {t: s["targets"]["electric"] for t, s in shares.items()} == {"t1": 60, "t2": 20, "t3": 0}
    assert shares["t1"]["targets"]["gas"] == 9                                # only t1 has gas households
    assert sum(s["targets"]["biomass"] for s in shares.values()) == 5         # no biomass household: by all households
    assert shares["t3"]["targets"]["biomass"] == 0
    for path, due in {"electric": 41, "gas": 9, "biomass": 2}.items():
        assert sum(s["expected"][path] for s in shares.values()) == due
    assert shares["t2"]["expected"]["electric"] == 10                         # 41 × 20/80, rounded


def test_a_stated_breakdown_is_used_and_scaled_when_the_county_target_changes():
    households = {"t1": {"electric": 1}, "t2": {"electric": 99}}
    stated = {"t1": {"electric": 50}, "t2": {"electric": 50}}
    assert {t: s["targets"]["electric"] for t, s in
            breakdown.split({"electric": 100}, {}, households, stated=stated).items()} == {"t1": 50, "t2": 50}
    scaled = breakdown.split({"electric": 101}, {}, households, stated=stated)
    assert sorted(s["targets"]["electric"] for s in scaled.values()) == [50, 51]


# ---- the county agrees with the city

@pytest.mark.django_db
def test_county_dashboard_agrees_with_the_citys_row_and_names_who_is_behind(client):
    client.force_login(make_user("tg_city", "1409", role="city_viewer"))
    _, city = dashboard_data(client, "/dashboard/")
    row = next(u for u in city["units"] if u["code"] == f"{XINFU}000000")
    behind = row["behind"]
    assert behind > 0 and any(u["code"] == row["code"] for u in city["behind"])  # the test ledger is a 0.5 % sample

    client.force_login(make_user("tg_county", XINFU, role="county_clerk"))
    page, county = dashboard_data(client, "/dashboard/")
    assert county["region"]["code"] == f"{XINFU}000000"
    assert county["own"]["behind"] == behind                     # the county's own total: the city's figure
    assert (county["own"]["target"], county["own"]["installed"]) == (row["target"], row["installed"])
    townships = county["units"]
    assert townships and all(u["target"] is not None for u in townships)          # targets drawn per township
    assert sum(u["target"] for u in townships) == row["target"]
    assert sum(u["expected"] for u in townships) == row["expected"]
    assert sum(u["expected"] - u["installed"] for u in townships) == behind      # ahead and behind net out
    assert county["behind"] and "没有进度滞后的单位" not in page
    assert 'id="own-behind">{:,}<'.format(behind) in page


@pytest.mark.django_db
def test_township_dashboard_breaks_its_target_down_to_villages(client):
    client.force_login(make_user("tg_county2", XINFU, role="county_clerk"))
    _, county = dashboard_data(client, "/dashboard/")
    township = next(u for u in county["units"] if u["target"])
    _, data = dashboard_data(client, f"/dashboard/{township['code']}/")
    villages = data["units"]
    assert villages and all(u["target"] is not None for u in villages)
    assert sum(u["target"] for u in villages) == township["target"] == data["own"]["target"]
    assert data["own"]["behind"] == township["behind"]
    assert sum(u["expected"] - u["installed"] for u in villages) == township["expected"] - township["installed"]
    assert data["curve"]["planned"][-1] == township["target"]  # its share of the county's schedule


@pytest.mark.django_db
def test_default_breakdown_is_in_proportion_to_households_confirmed():
    cp = CountyPlan.objects.get(plan__year=2022, county_code=XINFU)
    split = services.township_breakdown(cp)
    households = Counter()
    for village, path in Household.objects.filter(archived=False, village__code__startswith=XINFU) \
            .values_list("village_id", "heating_path"):
        households[(village[:9], path)] += 1
    assert households
    for target in cp.targets.all():
        shares = {t: s.get(target.heating_path, 0) for t, s in split.items()}
        assert sum(shares.values()) == target.households
        weights = {t: households[(t, target.heating_path)] for t in split}
        if sum(weights.values()):
            biggest = max(weights, key=weights.get)
            assert shares[biggest] == max(shares.values()) > 0
            assert all(shares[t] == 0 for t, w in weights.items() if w == 0)


@pytest.mark.django_db
def test_progress_table_shows_township_targets_for_a_past_date():
    plan = Plan.objects.get(year=2022)
    county = Region.objects.get(code=f"{XINFU}000000")
    city_row = next(r for r in progress_rows(Region.objects.get(level=1), plan, date(2022, 9, 1), "electric")
                    if r["region"] == county)
    rows = progress_rows(county, plan, date(2022, 9, 1), "electric")
    assert rows and all(r["target"] is not None for r in rows)
    assert sum(r["target"] for r in rows) == city_row["target"]
    assert sum(r["expected"] for r in rows) == city_row["expected"]
    assert sum(r["reached"][INSTALLED] for r in rows) == city_row["reached"][INSTALLED]
    village = Region.objects.filter(level=4, code__startswith=XINFU).first()
    (own,) = progress_rows(village, plan, date(2022, 9, 1), None)
    assert own["target"] is not None and own["region"] == village


# ---- the county edits its breakdown

def _form_values(cp):
    return {(t, p): n for t, per in services.township_breakdown(cp).items() for p, n in per.items()}


@pytest.mark.django_db
def test_county_admin_sets_township_targets_and_every_change_is_kept(client):
    cp = CountyPlan.objects.get(plan__year=2022, county_code=XINFU)
    admin = make_user("tg_admin", XINFU, role="county_admin")
    values = _form_values(cp)
    (first, path), (second, _) = sorted((k for k in values if k[1] == "electric"), key=lambda k: (-values[k], k))[:2]
    moved = min(values[(second, path)], 10)
    assert moved > 0
    values[(first, path)] += moved
    values[(second, path)] -= moved
    version = services.township_version(cp)
    assert services.set_township_targets(cp, values, user=admin, expected_version=version, reason="按摸排调整") == 2
    assert services.township_breakdown(cp) == {t: {p: values[(t, p)] for p in {k[1] for k in values}}
                                               for t in {k[0] for k in values}}
    changes = PlanChange.objects.filter(what__contains="乡镇目标").order_by("what")
    assert changes.count() == 2 and {c.reason for c in changes} == {"按摸排调整"} and changes[0].user == admin
    # the dashboard follows the stated breakdown
    client.force_login(admin)
    _, data = dashboard_data(client, "/dashboard/?year=2022")
    shown = {u["code"][:9]: u["target"] for u in data["units"]}
    assert shown[first] == sum(n for (t, _), n in values.items() if t == first)
    # a page opened before this save is refused, not applied
    with pytest.raises(StaleEdit):
        services.set_township_targets(cp, values, user=admin, expected_version=version)
    # back to households
    services.reset_township_targets(cp, user=admin)
    assert not cp.township_targets.exists() and PlanChange.objects.filter(what__contains="恢复").exists()


@pytest.mark.django_db
def test_township_targets_must_add_up_and_only_administrators_set_them():
    cp = CountyPlan.objects.get(plan__year=2022, county_code=XINFU)
    admin = make_user("tg_admin2", XINFU, role="county_admin")
    values = _form_values(cp)
    key = sorted(k for k in values if k[1] == "electric")[0]
    with pytest.raises(ValidationError, match="各乡镇合计.*与县级目标.*不一致"):
        services.set_township_targets(cp, {**values, key: values[key] + 1}, user=admin)
    with pytest.raises(ValidationError, match="整数"):
        services.set_township_targets(cp, {**values, key: "十户"}, user=admin)
    with pytest.raises(ValidationError, match="不属于本县"):
        services.set_township_targets(cp, {**values, ("140921001", "electric"): 1}, user=admin)
    assert not cp.township_targets.exists()
    with pytest.raises(PermissionDenied):
        services.set_township_targets(cp, values, user=make_user("tg_clerk", XINFU, role="county_clerk"))
    with pytest.raises(Exception):  # another county's administrator: not in scope
        services.set_township_targets(cp, values, user=make_user("tg_other", "140921", role="county_admin"))
    assert not cp.township_targets.exists()


@pytest.mark.django_db
def test_township_targets_page_edits_for_the_administrator_and_shows_for_others(client):
    cp = CountyPlan.objects.get(plan__year=2022, county_code=XINFU)
    client.force_login(make_user("tg_clerk2", XINFU, role="county_clerk"))
    page = client.get(f"/plan/townships/{XINFU}/?year=2022").content.decode()
    assert 'id="township-targets"' in page and 'name="t|' not in page and "确村确户户数比例" in page
    client.force_login(make_user("tg_admin3", XINFU, role="county_admin"))
    page = client.get(f"/plan/townships/{XINFU}/?year=2022").content.decode()
    values = _form_values(cp)
    assert page.count('name="t|') == len(values)
    form = {f"t|{t}|{p}": str(n) for (t, p), n in values.items()}
    key = sorted(k for k in values if k[1] == "electric")[0]
    form[f"t|{key[0]}|{key[1]}"] = str(values[key] + 1)
    refused = client.post(f"/plan/townships/{XINFU}/?year=2022", {**form, "version": services.township_version(cp)},
                          follow=True).content.decode()
    assert "与县级目标" in refused and not cp.township_targets.exists()
    form[f"t|{key[0]}|{key[1]}"] = str(values[key])
    client.post(f"/plan/townships/{XINFU}/?year=2022", {**form, "version": services.township_version(cp)})
    assert cp.township_targets.count() == len(values)
    assert client.get("/plan/townships/140921/").status_code == 404  # another county
