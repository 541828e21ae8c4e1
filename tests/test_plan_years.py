"""Many years, one ledger (issue #14 part 9): plans of several years coexist, each household counts in
the plan year of its conversion; rollups, dashboards and progress choose a year (default the latest)
and an "as of" date, kept in the address; a finished plan shows when each unit finished and how late."""
import json
from datetime import date

import pytest
from django.core.cache import caches

from cleanheat.demo.loader import later_configs
from cleanheat.imports import ledger_import
from cleanheat.ledger import demo, services
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.ledger.rollup import counts_by_unit, region_rollup
from cleanheat.plan import lateness
from cleanheat.plan.models import CountyPlan, Plan, Target
from cleanheat.regions.models import Region

from .conftest import TEST_SCALE, make_user
from .factories import household_data, new_id_number, village
from .sheets import TEMPLATE_HEADER, template_row, write_sheet

CITY = "140900000000"
INSTALLED_PLUS = STATE_ORDER[STATE_ORDER.index("installed"):]


def dashboard_data(client, url):
    page = client.get(url).content.decode()
    return page, json.loads(page.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])


def households(year, prefix=""):
    return Household.objects.filter(archived=False, plan_year=year, village__code__startswith=prefix)


# ---- the demo: two years side by side

@pytest.mark.django_db
def test_the_demo_has_two_plan_years_the_second_labelled_invented(demo_cfg):
    plans = {p.year: p for p in Plan.objects.filter(city_code=CITY)}
    assert sorted(plans) == [2022, 2023]
    assert "示例数据" in plans[2023].name and "虚构" in plans[2023].name and "虚构" in plans[2023].note
    assert plans[2022].note == "" and "忻清洁办发" in plans[2022].document_no
    # each year's households follow its own plan's split, per county and path
    for year, cfg in [(2022, demo_cfg), *[(c["year"], c) for c in later_configs(demo_cfg)]]:
        for county, paths in demo.county_path_counts(cfg, TEST_SCALE).items():
            for path, n in paths.items():
                assert households(year, county).filter(heating_path=path).count() == n, (year, county, path)
    assert sum(t.households for t in Target.objects.filter(county_plan__plan=plans[2022])) == 212549
    assert households(2023).exists() and households(2022).count() == round(212549 * TEST_SCALE)


# ---- rollups per year, default the latest, as of a date

@pytest.mark.django_db
def test_rollups_count_one_plan_years_households():
    city = Region.objects.get(code=CITY)
    by_year = {y: region_rollup(city, year=y)["node"]["total"] for y in (2022, 2023)}
    assert by_year == {2022: households(2022).count(), 2023: households(2023).count()}
    assert region_rollup(city)["node"]["total"] == sum(by_year.values())  # no year: all of them
    xinfu = region_rollup(Region.objects.get(code="140902000000"), year=2023)
    assert xinfu["node"]["total"] == households(2023, "140902").count()


@pytest.mark.django_db
def test_the_region_page_shows_the_latest_year_unless_another_is_chosen(admin_client):
    page = admin_client.get(f"/regions/{CITY}/").content.decode()
    assert f'id="node-total">{households(2023).count():,}<' in page
    assert '<option value="2023" selected>2023年（最新）</option>' in page and "虚构" in page
    page = admin_client.get(f"/regions/{CITY}/?year=2022").content.decode()
    assert f'id="node-total">{households(2022).count():,}<' in page
    assert 'href="/regions/140902000000/?year=2022"' in page  # the choice is kept on the links
    page = admin_client.get(f"/regions/{CITY}/?year=all").content.decode()
    assert f'id="node-total">{Household.objects.filter(archived=False).count():,}<' in page
    # a year without a plan counts as not given
    page = admin_client.get(f"/regions/{CITY}/?year=1999").content.decode()
    assert f'id="node-total">{households(2023).count():,}<' in page


@pytest.mark.django_db
def test_a_past_date_shows_the_ledger_as_it_was_and_that_years_plan(admin_client):
    on = date(2022, 8, 31)
    city = Region.objects.get(code=CITY)
    rollup = region_rollup(city, year=2022, on=on)
    started = households(2022).filter(lifecycle_events__occurred_on__lte=on).distinct()
    assert rollup["node"]["total"] == started.count()
    removed = rollup["node"]["states"][STATE_ORDER.index("removed")]
    assert removed == 0 < households(2022).filter(state="removed").count()  # removals came in 2023
    # without ?year=, a date in 2022 shows the plan of 2022
    page = admin_client.get(f"/regions/{CITY}/?asof=2022-08-31").content.decode()
    assert f'id="node-total">{started.count():,}<' in page and 'value="2022-08-31"' in page
    page = admin_client.get("/progress/140900000000/?asof=2022-08-31").content.decode()
    assert "忻州市2022年冬季清洁取暖工作实施方案" in page and "剩45天" in page  # 15 October 2022


# ---- finished plans: when each unit finished and how late

def test_lateness_method():
    deadline, days = date(2023, 10, 15), {date(2023, 9, 1): 5, date(2023, 10, 20): 3, date(2023, 11, 2): 2}
    assert lateness.outcome(deadline, 8, days, date(2023, 10, 1)) is None            # still running
    assert lateness.outcome(deadline, 5, days, date(2026, 11, 28)) == {"finished_on": date(2023, 9, 1), "late_days": 0}
    assert lateness.outcome(deadline, 8, days, date(2026, 11, 28)) == {"finished_on": date(2023, 10, 20), "late_days": 5}
    assert lateness.outcome(deadline, 11, days, date(2026, 11, 28)) == {"finished_on": None, "late_days": None}
    assert lateness.outcome(deadline, 10, days, date(2023, 11, 1)) == {"finished_on": None, "late_days": None}
    assert lateness.on_time(days, deadline) == 5


@pytest.mark.django_db
def test_a_finished_plan_says_when_each_unit_finished_instead_of_days_overdue(admin_client):
    plan = Plan.objects.get(year=2023)
    cp = CountyPlan.objects.get(plan=plan, county_code="140902")
    mine = households(2023, "140902").filter(state__in=INSTALLED_PLUS)
    assert mine.exists()
    # the county's target set to what it has installed: it finished on its last installation
    Target.objects.filter(county_plan=cp).delete()
    Target.objects.create(county_plan=cp, heating_path="central", households=mine.count())
    last = LifecycleEvent.objects.filter(household__in=mine, to_state="installed").order_by("-occurred_on").first()
    late = max(0, (last.occurred_on - cp.deadline).days)
    expected = f"已结束：{last.occurred_on:%Y-%m-%d}完成，逾期{late}天" if late else \
        f"已结束：{last.occurred_on:%Y-%m-%d}按期完成"
    page, data = dashboard_data(admin_client, "/dashboard/?year=2023&asof=2026-11-28")  # a fixed "today"
    xinfu = next(u for u in data["units"] if u["code"] == "140902000000")
    assert xinfu["outcome"] == {"finished_on": last.occurred_on.isoformat(), "late_days": late}
    assert expected in page and 'id="finish-list"' in page and "已过期" not in page
    assert "已结束：未完成目标" in page  # the other counties, far from the invented targets
    # the 2022 plan opened years later: its final state, never "已过期1505天"
    page = admin_client.get("/dashboard/?year=2022").content.decode()
    assert "已过期" not in page and "本年度计划已结束" in page and "已结束" in page
    page = admin_client.get("/progress/140900000000/?year=2022").content.decode()
    assert "已过期" not in page and "完成情况" in page
    # while it ran, days were left
    page = admin_client.get("/dashboard/?year=2023&asof=2023-06-30").content.decode()
    assert f"剩{(cp.deadline - date(2023, 6, 30)).days}天" in page and "本年度计划已结束" not in page


@pytest.mark.django_db
def test_the_city_dashboard_lists_the_years_side_by_side(admin_client):
    page = admin_client.get("/dashboard/").content.decode()
    table = page.split('id="years-table"')[1].split("</table>")[0]
    assert table.index(">2023<") < table.index(">2022<") and "212,549" in table and "已结束" in table
    for year in (2022, 2023):
        converted = households(year).filter(state__in=INSTALLED_PLUS).count()
        assert f"{converted:,}" in table
    # on time: installed by the county's deadline (every demo installation of 2022 was)
    assert table.count(f"{households(2022).filter(state__in=INSTALLED_PLUS).count():,}") == 2
    assert 'id="years-table"' not in admin_client.get("/dashboard/140902000000/").content.decode()


# ---- the cache keeps years apart

@pytest.mark.django_db
def test_cached_figures_are_kept_per_year_and_equal_fresh_ones():
    first = {y: counts_by_unit("1409", 6, year=y) for y in (2022, 2023, None)}
    assert first[2022] != first[2023]
    on = date(2023, 6, 30)
    past = {y: counts_by_unit("1409", 6, year=y, on=on) for y in (2022, 2023)}
    assert past[2022] != past[2023]
    caches["figures"].clear()
    assert {y: counts_by_unit("1409", 6, year=y) for y in (2022, 2023, None)} == first
    assert {y: counts_by_unit("1409", 6, year=y, on=on) for y in (2022, 2023)} == past


# ---- the year of a new household

@pytest.mark.django_db
def test_a_new_household_joins_the_latest_plan_or_the_year_given():
    assert services.create_household(household_data()).plan_year == 2023
    assert services.create_household(household_data(plan_year="2022年")).plan_year == 2022
    with pytest.raises(Exception) as refused:
        services.create_household(household_data(plan_year="2030"))
    assert "计划年度“2030”没有对应的年度计划（现有：2022、2023）" in str(refused.value)


@pytest.mark.django_db
def test_an_import_takes_the_year_column_or_the_latest_plan(tmp_path):
    user = make_user("years_import", "140902", role="county_admin")
    code = village("140902").code

    def row(name, year):
        return template_row(village_code=code, householder_name=name, id_number=new_id_number("140902"),
                            heated_area="90", structure="砖混", original_facility="土暖气", heating_path="集中供暖",
                            household_size="3") + [year]
    path = write_sheet(tmp_path / "years.xlsx", TEMPLATE_HEADER + ["计划年度"],
                       [row("年度甲", "2022"), row("年度乙", ""), row("年度丙", 2023), row("年度丁", "2031")])
    result = ledger_import.analyse(path, user=user, filename=path.name)
    assert any("第5行" in p and "计划年度“2031”没有对应的年度计划" in p for p in result.problems()), result.problems()
    ledger_import.commit(result, user=user, valid_only=True)
    years = dict(Household.objects.filter(householder_name__startswith="年度").values_list("householder_name", "plan_year"))
    assert years == {"年度甲": 2022, "年度乙": 2023, "年度丙": 2023}


# ---- the API

@pytest.mark.django_db
def test_the_api_takes_year_and_as_of(admin_client):
    body = admin_client.get(f"/api/regions/{CITY}/rollup").json()
    assert body["year"] == 2023 and body["total"] == households(2023).count()
    body = admin_client.get(f"/api/regions/{CITY}/rollup", {"year": "2022", "asof": "2022-08-31"}).json()
    assert body["year"] == 2022 and body["as_of"] == "2022-08-31" and body["by_state"]["removed"] == 0
    assert admin_client.get(f"/api/regions/{CITY}/rollup", {"year": "all"}).json()["total"] == \
        Household.objects.filter(archived=False).count()
    refused = admin_client.get(f"/api/regions/{CITY}/rollup", {"year": "1999"})
    assert refused.status_code == 400 and "没有1999年度的计划" in refused.json()["detail"]
    assert admin_client.get(f"/api/regions/{CITY}/rollup", {"asof": "2022-02-30"}).status_code == 400
    body = admin_client.get(f"/api/regions/{CITY}/progress", {"year": "2022"}).json()
    xinfu = next(u for u in body["units"] if u["code"] == "140902000000")
    assert body["plan"] == "忻州市2022年冬季清洁取暖工作实施方案" and xinfu["finished"] and xinfu["days_left"] is None
    assert xinfu["deadline"] == "2022-10-15" and xinfu["finished_on"] is None  # never reached its target
    assert xinfu["reached"]["installed"] == households(2022, "140902").filter(state__in=INSTALLED_PLUS).count()
    running = admin_client.get(f"/api/regions/{CITY}/progress", {"year": "2023", "asof": "2023-06-30"}).json()
    assert not running["units"][0]["finished"] and running["units"][0]["days_left"] > 0


@pytest.mark.django_db
def test_the_api_creates_a_household_in_the_year_given_or_the_latest(admin_client):
    from .test_api import post
    body = post(admin_client, "/api/households", household_data(plan_year=2022)).json()
    assert body["plan_year"] == 2022 == Household.objects.get(household_no=body["household_no"]).plan_year
    assert post(admin_client, "/api/households", household_data()).json()["plan_year"] == 2023
    refused = post(admin_client, "/api/households", household_data(plan_year="1999"))
    assert refused.status_code == 422 and "计划年度“1999”没有对应的年度计划" in refused.json()["errors"]["plan_year"][0]
