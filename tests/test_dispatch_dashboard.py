import json
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from python_calamine import CalamineWorkbook

from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household
from cleanheat.plan import dispatch
from cleanheat.plan.models import CountyPlan, DispatchReport, Plan
from cleanheat.regions.models import Region

from .conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    return Plan.objects.get(year=2022)


def test_cycles_follow_the_city_setting(plan):
    assert dispatch.cycle_of(plan, date(2022, 5, 11)) == (date(2022, 5, 11), date(2022, 5, 17))
    assert dispatch.cycle_of(plan, date(2022, 5, 20)) == (date(2022, 5, 18), date(2022, 5, 24))
    plan.dispatch_every_days = 14
    assert dispatch.cycle_of(plan, date(2022, 5, 26)) == (date(2022, 5, 25), date(2022, 6, 7))


def test_submit_return_resubmit_keeps_every_version(plan):
    clerk = make_user("d_clerk", "140921", role="county_clerk")
    city = make_user("d_city", "1409", role="city_admin")
    on = date(2022, 7, 1)
    first = dispatch.submit(plan, "140921", user=clerk, problems="青苗补偿未谈妥", help_needed=["compensation", "grid"],
                            responsible_person="张主任", on=on)
    from .test_plan import brute_force
    replay = brute_force("140921", on)
    installed = sum(n for (_, state), n in replay.items() if STATE_ORDER.index(state) >= STATE_ORDER.index("installed"))
    assert sum(f["installed"] for f in first.figures["paths"].values()) == installed > 0
    assert first.figures["as_of"] == "2022-07-01" and first.version == 1
    with pytest.raises(ValidationError, match="本周期已报送"):
        dispatch.submit(plan, "140921", user=clerk, problems="", help_needed=[], responsible_person="张主任", on=on)
    with pytest.raises(Exception):
        dispatch.return_report(first, user=clerk, reason="自己退回")
    with pytest.raises(ValidationError, match="原因"):
        dispatch.return_report(first, user=city, reason="")
    dispatch.return_report(first, user=city, reason="问题描述不具体")
    second = dispatch.submit(plan, "140921", user=clerk, problems="某村青苗补偿标准未定，涉及23户",
                             help_needed=["compensation"], responsible_person="张主任", on=on)
    assert second.version == 2
    versions = list(DispatchReport.objects.filter(county_code="140921").order_by("version"))
    assert [v.problems for v in versions] == ["青苗补偿未谈妥", "某村青苗补偿标准未定，涉及23户"]
    assert versions[0].return_reason == "问题描述不具体" and versions[1].returned_at is None


def test_city_board_shows_who_has_not_reported(client, plan):
    clerk = make_user("d_clerk2", "140922", role="county_clerk")
    dispatch.submit(plan, "140922", user=clerk, problems="", help_needed=[], responsible_person="李", on=date.today())
    client.force_login(make_user("d_viewer", "1409", role="city_viewer"))
    page = client.get("/dispatch/?year=2022").content.decode()
    assert page.count("未报送") == 14 and "五台县" in page


def test_county_submits_through_the_page(client, plan):
    client.force_login(make_user("d_clerk3", "140923", role="county_clerk"))
    page = client.get("/dispatch/").content.decode()
    assert "以上数据由台账自动生成" in page
    client.post("/dispatch/", {"problems": "电网增容滞后", "help_needed": ["grid"], "responsible_person": "王"})
    report = DispatchReport.objects.get(county_code="140923")
    assert report.help_needed == ["grid"] and report.submitted_by.username == "d_clerk3"
    assert "电网增容滞后" in client.get(f"/dispatch/{report.pk}/").content.decode()


def test_dashboard_figures_come_from_the_ledger(client, plan):
    client.force_login(make_user("dash_city", "1409", role="city_viewer"))
    page = client.get("/dashboard/?year=2022").content.decode()
    data = json.loads(page.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert [u["name"] for u in data["units"]] == list(Region.objects.filter(level=2).order_by("code").values_list("name", flat=True))
    xinfu = next(u for u in data["units"] if u["code"] == "140902000000")
    installed = Household.objects.filter(village__code__startswith="140902", archived=False, plan_year=2022,
                                         state__in=STATE_ORDER[STATE_ORDER.index("installed"):]).count()
    assert xinfu["installed"] == installed
    assert xinfu["target"] == sum(t.households for t in CountyPlan.objects.get(plan=plan, county_code="140902").targets.all())
    assert sum(p["value"] for p in data["path_mix"]) == Household.objects.filter(archived=False, plan_year=2022).count()
    assert data["curve"]["planned"][-1] == 212549
    assert [m["name"] for m in data["milestones"]][:2] == ["县级方案备案", "组织实施"]
    assert "vendor/echarts-5.6.0.min.js" in page and "map-xinzhou" in page


def test_dashboard_drills_down_and_stays_in_scope(client):
    client.force_login(make_user("dash_county", "140902", role="county_clerk"))
    assert client.get("/dashboard/").status_code == 200  # starts at their own county
    assert client.get("/dashboard/140900000000/").status_code == 404
    township = Region.objects.filter(code__startswith="140902", level=3).first()
    page = client.get(f"/dashboard/{township.code}/").content.decode()
    data = json.loads(page.split('<script id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert [u["code"] for u in data["units"]] == list(township.children.order_by("code").values_list("code", flat=True))


def test_dispatch_and_progress_tables_export(client, tmp_path):
    client.force_login(make_user("exp_city", "1409", role="city_viewer"))
    response = client.get("/progress/140900000000/dispatch-table.xlsx", {"date": "2022-10-15"})
    path = tmp_path / "dispatch.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert "调度表" in rows[0][0] and rows[2][0] == "单位" and rows[3][1] == "目标"
    body = rows[4:4 + 15]
    assert [r[0] for r in body] == list(Region.objects.filter(level=2).order_by("code").values_list("name", flat=True))
    assert sorted(int(r[-1]) for r in body) == list(range(1, 16))  # ranks
    response = client.get("/progress/140902000000/export.xlsx")
    assert response.status_code == 200
