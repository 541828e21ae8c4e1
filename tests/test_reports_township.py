"""Reports (issue #19) for a township clerk: the township's own reports, generated, seen and submitted
to the county, which returns them; nothing of another township or of the county's own reports; no
coal-ban marking and no templates."""
import pytest

from cleanheat.accounts.roles import COAL_BAN, REPORT_TEMPLATES, REPORTS, permissions_of
from cleanheat.regions.models import Region
from cleanheat.reports.models import CoalBanVillage, GeneratedReport

from .conftest import make_user

pytestmark = pytest.mark.django_db
XINFU = "140902"


@pytest.fixture
def townships():
    """Two townships of 忻府区 that have villages."""
    found = [t for t in Region.objects.filter(level=3, code__startswith=XINFU).order_by("code")
             if Region.objects.filter(level=4, parent=t).exists()]
    return found[0], found[1]


def generate(client, region_code, layout="weekly-dispatch"):
    return client.post("/reports/generate/", {"template": layout, "region": region_code, "asof": "2022-09-30",
                                              "year": "2022"})


def test_a_township_clerk_has_reports_but_not_coal_ban_marking_or_templates():
    granted = permissions_of("township_clerk")
    assert REPORTS in granted and COAL_BAN not in granted and REPORT_TEMPLATES not in granted


def test_a_township_clerk_generates_and_submits_the_township_report_and_the_county_returns_it(client, townships):
    own, _other = townships
    clerk = make_user("t_town_clerk", own.prefix, role="township_clerk")
    client.force_login(clerk)
    home = client.get("/reports/").content.decode()
    assert f'name="region" value="{own.code}"' in home     # the form starts at the clerk's township
    assert generate(client, own.code).status_code == 302
    report = GeneratedReport.objects.get()
    assert (report.region_code, report.created_by) == (own.code, clerk)
    page = client.get(f"/reports/files/{report.pk}/page/").content.decode()
    first_village = Region.objects.filter(parent=own).order_by("code").first()
    assert first_village.name in page                       # one row per village of the township
    assert client.get(f"/reports/files/{report.pk}/report.pdf").status_code == 200
    assert client.post(f"/reports/files/{report.pk}/submit/").status_code == 302
    report.refresh_from_db()
    assert report.status == "submitted"

    county = make_user("t_town_county", XINFU, role="county_admin")
    client.force_login(county)
    assert f"/reports/files/{report.pk}/return/" in client.get("/reports/").content.decode()
    client.post(f"/reports/files/{report.pk}/return/", {"reason": "村级完工数有误"})
    report.refresh_from_db()
    assert (report.status, report.return_reason) == ("returned", "村级完工数有误")
    # the county's own report goes to the city: the county cannot return it itself
    generate(client, f"{XINFU}000000")
    own_county = GeneratedReport.objects.get(region_code=f"{XINFU}000000")
    client.post(f"/reports/files/{own_county.pk}/submit/")
    assert client.post(f"/reports/files/{own_county.pk}/return/", {"reason": "自己退回"}).status_code == 403
    own_county.refresh_from_db()
    assert own_county.status == "submitted"


def test_the_township_clerk_sees_nothing_beyond_the_township(client, townships):
    own, other = townships
    county = make_user("t_town_county2", XINFU, role="county_admin")
    client.force_login(county)
    generate(client, f"{XINFU}000000")
    generate(client, other.code)
    county_report = GeneratedReport.objects.get(region_code=f"{XINFU}000000")
    other_report = GeneratedReport.objects.get(region_code=other.code)

    client.force_login(make_user("t_town_clerk2", own.prefix, role="township_clerk"))
    for region in (f"{XINFU}000000", other.code):            # generating above or beside: not found
        assert generate(client, region).status_code == 404
        assert client.get(f"/reports/emissions/{region}/").status_code == 404
    for report in (county_report, other_report):
        for url in ("", "page/", "report.pdf"):
            assert client.get(f"/reports/files/{report.pk}/{url}").status_code == 404
        assert client.post(f"/reports/files/{report.pk}/submit/").status_code == 404
    listed = client.get("/reports/").content.decode().split('id="generated"')[1]
    assert f"/reports/files/{county_report.pk}/" not in listed and f"/reports/files/{other_report.pk}/" not in listed
    assert GeneratedReport.objects.filter(region_code__startswith=own.prefix).count() == 0
    # the notices of the township's villages, not of the other's
    village = Region.objects.filter(parent=own).order_by("code").first()
    elsewhere = Region.objects.filter(parent=other).order_by("code").first()
    assert client.get(f"/reports/notices/{village.code}/").status_code == 200
    assert client.get(f"/reports/notices/{elsewhere.code}/").status_code == 404
    # marking a coal-ban village is the county's; templates are the city's
    refused = client.post(f"/reports/coal-ban/{own.code}/", {"village_code": village.code, "zone": "镇禁煤区",
                                                              "since": "2022-06-01"})
    assert refused.status_code == 404 and not CoalBanVillage.objects.exists()
    assert client.get("/reports/templates/upload/").status_code == 403
