"""The clerk's desk: the 待办 panel computed from data, 催报, and 通知公告 with read receipts."""
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cleanheat.audit.models import AuditEvent
from cleanheat.desk import services, todos
from cleanheat.desk.models import NoticeRead, Reminder
from cleanheat.jobs.models import Job
from cleanheat.ledger.models import Household
from cleanheat.plan import dispatch
from cleanheat.plan.models import CountyPlan, Plan
from cleanheat.rules import compliance

from .conftest import make_user

pytestmark = pytest.mark.django_db
XINFU, DAIXIAN = "140902", "140923"


@pytest.fixture
def plan():
    return Plan.objects.get(year=2022)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def city():
    return make_user("k_city", "1409", role="city_admin")


def texts(user, kind=None):
    return [t.text for t in todos.for_user(user) if kind is None or t.kind == kind]


def landing(client, user):
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_dispatch_due_shows_for_the_county_only_and_goes_when_submitted(plan):
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN)
    village = make_user("k_village", "140902100001", role="village_clerk")
    assert any("本期调度报告待报送" in t for t in texts(clerk, "dispatch"))
    assert texts(village, "dispatch") == []
    dispatch.submit(plan, XINFU, user=clerk, problems="", help_needed=[], responsible_person="张")
    assert not any("本期调度报告待报送" in t for t in texts(clerk, "dispatch"))
    assert any("本期调度报告待报送" in t for t in texts(other, "dispatch"))


def test_previous_period_missing_is_overdue(plan):
    clerk = make_user("k_xinfu", XINFU)
    start, _end = dispatch.cycle_of(plan, date.today())
    assert any("已逾期" in t for t in texts(clerk, "dispatch"))
    dispatch.submit(plan, XINFU, user=clerk, problems="", help_needed=[], responsible_person="张",
                    on=start - timedelta(days=1))
    assert not any("已逾期" in t for t in texts(clerk, "dispatch"))


def test_returned_report_and_returned_schedule_are_to_dos(plan, city):
    clerk = make_user("k_xinfu", XINFU)
    report = dispatch.submit(plan, XINFU, user=clerk, problems="", help_needed=[], responsible_person="张")
    dispatch.return_report(report, user=city, reason="问题写得不具体")
    assert any("问题写得不具体" in t for t in texts(clerk, "dispatch"))
    CountyPlan.objects.filter(plan=plan, county_code=XINFU).update(schedule_status="returned",
                                                                   schedule_review_note="前松后紧")
    assert any("前松后紧" in t for t in texts(clerk, "schedule"))
    assert texts(make_user("k_dai", DAIXIAN), "schedule") == []
    CountyPlan.objects.filter(plan=plan, county_code=XINFU).update(schedule_status="submitted")
    assert texts(clerk, "schedule") == []
    assert any("月度计划待审核" in t for t in texts(city, "review"))


def test_remind_is_a_to_do_for_that_county_until_it_reports(client, plan, city):
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN)
    client.force_login(city)
    page = client.get("/dispatch/").content.decode()
    assert 'action="/desk/remind/"' in page
    response = client.post("/desk/remind/", {"county": XINFU, "message": "请今天下班前报送"}, follow=True)
    assert "已催报" in response.content.decode()
    again = client.post("/desk/remind/", {"county": XINFU}, follow=True)
    assert "请勿重复催报" in again.content.decode()
    reminder = Reminder.objects.get()
    assert reminder.unit_code == XINFU and reminder.sms_sent is False and reminder.created_by == city
    assert AuditEvent.objects.filter(action="remind", region_code="140902000000").count() == 1
    assert any("请今天下班前报送" in t for t in texts(clerk, "reminder"))
    assert texts(other, "reminder") == []
    assert "请今天下班前报送" in landing(client, clerk)
    dispatch.submit(plan, XINFU, user=clerk, problems="", help_needed=[], responsible_person="张")
    assert texts(clerk, "reminder") == []
    with pytest.raises(ValidationError, match="已报送"):
        services.remind(plan, XINFU, user=city)


def test_only_the_city_reminds_and_only_after_the_cooldown_again(plan, city, settings):
    county_admin = make_user("k_xadmin", XINFU, role="county_admin")
    with pytest.raises(PermissionDenied):
        services.remind(plan, XINFU, user=county_admin)
    with pytest.raises(PermissionDenied):
        services.remind(plan, XINFU, user=make_user("k_viewer", "1409", role="city_viewer"))
    first, created = services.remind(plan, XINFU, user=city)
    assert created
    Reminder.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    _second, created = services.remind(plan, XINFU, user=city)
    assert created and Reminder.objects.count() == 2


def test_finished_job_is_a_to_do_until_opened(client):
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_xinfu2", XINFU)
    job = Job.objects.create(kind="import", user=clerk, filename="台账.xlsx", status="failed",
                             finished_at=timezone.now())
    previewed = Job.objects.create(kind="import", user=clerk, filename="二批.xlsx", status="previewed")
    mine = texts(clerk, "job")
    assert any("台账.xlsx" in t and "出错" in t for t in mine) and any("待确认写入" in t for t in mine)
    assert texts(other, "job") == []
    client.force_login(clerk)
    assert client.get(f"/desk/jobs/{job.pk}/").url == f"/jobs/{job.pk}/"
    assert [t for t in texts(clerk, "job") if "台账.xlsx" in t] == []
    client.force_login(other)
    assert client.get(f"/desk/jobs/{previewed.pk}/").status_code == 404
    Job.objects.filter(pk=previewed.pk).update(status="done")
    assert any("二批.xlsx" in t and "已完成" in t for t in texts(clerk, "job"))


def _retrofit_breach(county):
    household = Household.objects.filter(village__code__startswith=county, archived=False,
                                         envelope_retrofitted=False).order_by("pk").first()
    Household.objects.filter(pk=household.pk).update(envelope_retrofitted=True, envelope_gain_pct=10)
    return household


def _breaches(county):
    return sum(1 for f in compliance.scan(county) if f.severity == "breach")


def test_new_breaches_since_the_last_look_in_my_area_only(client):
    _retrofit_breach(XINFU)
    _retrofit_breach(DAIXIAN)
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN)
    assert texts(clerk, "breaches") == [f"辖区内新增违规{_breaches(XINFU)}条（共{_breaches(XINFU)}条），请核查"]
    assert texts(other, "breaches") == [f"辖区内新增违规{_breaches(DAIXIAN)}条（共{_breaches(DAIXIAN)}条），请核查"]
    client.force_login(clerk)
    assert client.get("/desk/compliance/").url == f"/compliance/{XINFU}000000/"
    assert texts(clerk, "breaches") == []
    _retrofit_breach(XINFU)
    assert texts(clerk, "breaches") == [f"辖区内新增违规1条（共{_breaches(XINFU)}条），请核查"]
    assert "新增违规1条" in landing(client, clerk)
    assert len(texts(other, "breaches")) == 1  # has not looked yet: unchanged by Xinfu's


def test_city_wide_breaches_are_not_scanned_on_the_landing_page(city, settings):
    settings.CLEANHEAT_DEFER_FIGURES_FROM = 1  # the city counts as slow: only a cached scan is used
    assert any(f.severity == "breach" for f in compliance.scan("1409"))
    assert texts(city, "breaches") == []
    compliance.findings("1409")
    assert len(texts(city, "breaches")) == 1
