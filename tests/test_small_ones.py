"""The small ones of issue 15 (part 9): progress that only moves forward, download names in local
time naming the region, a favicon, names beside codes, thousands separators, the sizing history."""
import re
from datetime import datetime, timezone as dt_timezone
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from cleanheat.audit.services import record
from cleanheat.jobs.models import Job
from cleanheat.jobs.services import progress_key, progress_of, reporter, start
from cleanheat.ledger.rollup import region_rollup
from cleanheat.regions.models import Region
from cleanheat.rules import compliance

pytestmark = pytest.mark.django_db


def filename(response) -> str:
    header = response["Content-Disposition"]
    encoded = re.search(r"filename\*=utf-8''([^;]+)", header, re.I)
    return unquote(encoded.group(1)) if encoded else re.search(r'filename="([^"]+)"', header).group(1)


# ---- progress ------------------------------------------------------------------------------------

def shown(job):
    data = progress_of(job)
    return data["step"], data["done"], data["percent"]


def test_progress_never_goes_back_and_is_not_100_while_running(county_clerk):
    job = Job.objects.create(kind="import", user=county_clerk, status="committing")
    report = reporter(job.pk)  # a commit: reads and checks the file again, then writes
    seen = []
    for stage, done in [("read", 1000), ("validate", 200), ("validate", 1000), ("read", 1000),
                        ("validate", 500), ("write", 0), ("write", 600), ("validate", 1000), ("write", 1000)]:
        report(stage, done, 1000)
        seen.append(shown(job))
    steps, percents = [s for s, _, _ in seen], [p for _, _, p in seen]
    assert steps == sorted(steps) and steps[-1] == 3 and percents == sorted(percents)
    assert max(percents) < 100 and percents[0] > 0
    assert seen[3] == seen[2]  # a second read after checking began: nothing moves back
    assert progress_of(job)["stage_label"] == "写入"

    job.status = "done"
    assert progress_of(job)["percent"] == 100


def test_the_progress_text_says_which_step_of_how_many(client, county_clerk):
    client.force_login(county_clerk)
    job = Job.objects.create(kind="import", user=county_clerk, status="running", filename="a.xlsx")
    report = reporter(job.pk, stages=("read", "validate"))
    report("read", 300, 300)
    report("validate", 150, 300)
    text = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert "第2/2步 校验 150/300 · 75%" in text and "100%" not in text
    report("read", 300, 300)  # as an import's commit starts over: the page does not go back
    assert "第2/2步 校验 150/300" in client.get(f"/jobs/{job.pk}/progress/").content.decode()


def test_a_new_run_of_a_job_starts_its_progress_afresh(county_clerk):
    job = Job.objects.create(kind="import", user=county_clerk, status="previewed")
    reporter(job.pk, stages=("read", "validate"))("validate", 10, 10)
    assert cache.get(progress_key(job.pk))["percent"] == 99
    start(job, lambda j: None)
    assert cache.get(progress_key(job.pk)) is None


# ---- download names --------------------------------------------------------------------------------

def test_export_names_say_the_region_and_the_local_time(client, county_clerk, settings):
    client.force_login(county_clerk)
    township = Region.objects.filter(code__startswith="140902", level=3).order_by("code").first()
    job_url = client.get("/households/export/", {"region": township.prefix}).url
    job = Job.objects.get(kind="export_households", user=county_clerk)
    job.created_at = datetime(2022, 10, 15, 1, 30, tzinfo=dt_timezone.utc)  # 09:30 in Xinzhou
    job.save(update_fields=["created_at"])
    assert filename(client.get(job_url + "result.xlsx")) == f"导出台账-{township.name}-20221015-0930.xlsx"

    job_url = client.get("/households/export/").url
    name = filename(client.get(job_url + "result.xlsx"))
    assert name.startswith("导出台账-忻府区-") and name.endswith(timezone.localtime().strftime("%Y%m%d-%H%M") + ".xlsx")

    outside = client.get("/households/export/", {"region": "140981"}).url  # not the clerk's: not named
    assert filename(client.get(outside + "result.xlsx")).startswith("导出台账-忻府区-")
    assert filename(client.get("/imports/template.xlsx")).startswith("清洁取暖台账模板-忻府区-")


def test_compliance_and_audit_exports_name_region_and_time(client, city_admin):
    client.force_login(city_admin)
    stamp = timezone.localtime().strftime("%Y%m%d")
    assert filename(client.get("/compliance/140902000000/export.xlsx")).startswith(f"合规检查-忻府区-{stamp}")
    assert filename(client.get("/audit/export.csv")).startswith(f"安全审计-忻州市-{stamp}")


# ---- favicon ------------------------------------------------------------------------------------------

def test_every_page_names_a_favicon_from_our_static_files(client, admin_client):
    page = admin_client.get("/households/").content.decode()
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert icons and all(icon.startswith("/static/img/favicon.") for icon in icons)
    for icon in icons:
        response = client.get(icon)
        assert response.status_code == 200 and b"".join(response.streaming_content)
    assert re.findall(r'<link rel="icon"', client.get("/no-such-page/").content.decode())
    redirect = client.get("/favicon.ico")  # asked for without logging in
    assert redirect.status_code == 302 and redirect.url == "/static/img/favicon.ico"
    ico = b"".join(client.get(redirect.url).streaming_content)
    assert ico[:4] == b"\0\0\1\0" and b"PNG" in ico[:40]


# ---- names beside codes ------------------------------------------------------------------------------

def test_compliance_households_show_their_village_and_township_by_name(admin_client):
    finding = next(f for f in compliance.scan("1409") if f.rule == "gas" and f.severity == "breach")
    village = Region.objects.get(code=finding.village)
    page = admin_client.get("/compliance/140900000000/", {"rule": "gas", "severity": "breach"}).content.decode()
    row = next(r for r in page.split("<tr>") if f"/households/{finding.household_no}/" in r)
    assert f"{village.parent.name} {village.name}" in row and finding.village in row
    summary = admin_client.get("/compliance/140900000000/").content.decode()
    assert "?rule=gas&severity=breach#detail" in summary and 'id="detail"' in page  # opens at the list


def test_audit_list_names_the_region_beside_its_code(client, city_admin):
    record("export", user=city_admin, region_code="140902", target="审计名称测试")
    client.force_login(city_admin)
    page = client.get("/audit/", {"target": "审计名称测试"}).content.decode()
    row = next(r for r in page.split("<tbody>")[-1].split("<tr>") if "审计名称测试" in r)
    assert "忻府区" in row and "140902" in row


# ---- thousands separators ----------------------------------------------------------------------------

def test_sizing_totals_group_thousands(city_admin):
    city = Region.objects.get(code="140900000000")
    request = RequestFactory().get("/")
    request.user = city_admin
    sizing = {"children": [{"region": city.children.first(), "households": 1234, "load_mw": 1234.56,
                            "heat_gwh": 2345.678, "undersized": 1200, "no_fit": 3400}],
              "total": {"households": 212549, "load_mw": 2125.49, "heat_gwh": 4321.987, "undersized": 1200,
                        "no_fit": 3400},
              "computed_at": timezone.now()}
    page = render_to_string("regions/region.html", {"region": city, "rollup": region_rollup(city), "sizing": sizing,
                                                    "ancestors": [], "can": {}}, request=request)
    table = page.split('id="sizing-rollup"')[1].split("</table>")[0]
    for figure in ("212,549", "2,125.5", "4,321.99", "1,200", "3,400", "1,234.6", "2,345.68"):
        assert figure in table, figure


# ---- the sizing history ------------------------------------------------------------------------------

def test_the_sizing_page_explains_the_computation_time_the_rollup_shows(client, city_admin):
    client.force_login(city_admin)
    page = client.get("/procurement/sizing/").content.decode()
    assert "计算时间" in page and "不随台账修改自动更新" in page
    client.post("/procurement/sizing/", {"region": "140902000000"})
    job = Job.objects.filter(kind="sizing", status="done").latest("finished_at")
    page = client.get("/procurement/sizing/").content.decode()
    last = page.split('id="sizing-last"')[1].split("</p>")[0]
    assert timezone.localtime(job.finished_at).strftime("%Y-%m-%d %H:%M") in last and "用时" in last
    assert str(job.counts["seconds"]) in page.split('id="sizing-jobs"')[1]
    region_page = client.get("/regions/140902000000/").content.decode()
    assert 'id="sizing-history"' in region_page and "计算时间" in region_page
