"""The clerk's desk: the 待办 panel computed from data, 催报, and 通知公告 with read receipts."""
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cleanheat.audit.models import AuditEvent
from cleanheat.desk import queries, services, todos
from cleanheat.desk.models import NoticeRead, Reminder
from cleanheat.jobs.models import Job
from cleanheat.ledger.models import Household
from cleanheat.plan import dispatch
from cleanheat.plan.models import CountyPlan, Plan
from cleanheat.regions.models import Region
from cleanheat.rules import compliance

from .conftest import make_user

pytestmark = pytest.mark.django_db
XINFU, DAIXIAN = "140902", "140923"


@pytest.fixture
def plan():
    """The plan the dispatch page and the to-dos work on: the latest."""
    return Plan.objects.order_by("-year").first()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def city():
    return make_user("k_city", "1409", role="city_admin")


def _first(level, within):
    return Region.objects.filter(level=level, code__startswith=within).order_by("code").first().prefix


def village_code():
    return _first(4, XINFU)


def township_code():
    return _first(3, XINFU)


def texts(user, kind=None):
    return [t.text for t in todos.for_user(user) if kind is None or t.kind == kind]


def landing(client, user):
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_dispatch_due_shows_for_the_county_only_and_goes_when_submitted(plan):
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN)
    village = make_user("k_village", village_code(), role="village_clerk")
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


def _publish(client, city, **extra):
    client.force_login(city)
    data = {"title": "关于加快煤改电施工进度的通知", "body": "各县：\n\n请于本月底前完成。", "audience": "some",
            "units": [XINFU], **extra}
    return client.post("/desk/notices/new/", data, follow=True)


def test_city_publishes_to_one_county_users_there_read_it_the_city_sees_who(client, city):
    clerk, village = make_user("k_xinfu", XINFU), make_user("k_village", village_code(), role="village_clerk")
    make_user("k_xinfu2", XINFU)
    other = make_user("k_dai", DAIXIAN)
    attachment = SimpleUploadedFile("进度表.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = _publish(client, city, attachment=attachment)
    assert "通知公告已发布" in response.content.decode()
    notice = response.context["notice"]
    assert AuditEvent.objects.filter(action="notice", target__contains="关于加快煤改电").exists()
    for user in (clerk, village):
        assert "未读通知公告：关于加快煤改电施工进度的通知" in landing(client, user)
    body = landing(client, other)
    assert "关于加快煤改电" not in body
    assert client.get(f"/desk/notices/{notice.pk}/").status_code == 404
    assert client.get(f"/desk/notices/{notice.pk}/attachment/").status_code == 404

    client.force_login(clerk)
    page = client.get(f"/desk/notices/{notice.pk}/").content.decode()
    assert "请于本月底前完成。" in page and "阅读情况" not in page
    download = client.get(f"/desk/notices/{notice.pk}/attachment/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 test"
    assert "进度表.pdf" in download["Content-Disposition"] or "%E8%BF%9B" in download["Content-Disposition"]
    assert texts(clerk, "notice") == [] and len(texts(village, "notice")) == 1
    client.get(f"/desk/notices/{notice.pk}/")
    assert NoticeRead.objects.filter(notice=notice).count() == 1

    client.force_login(city)
    page = client.get(f"/desk/notices/{notice.pk}/")
    xinfu = next(r for r in page.context["receipts"] if r["code"] == XINFU)
    assert [r["user"] for r in xinfu["read"]] == [clerk]
    unread = {r["user"].username for r in xinfu["unread"]}
    assert {"k_village", "k_xinfu2"} <= unread and "k_xinfu" not in unread and "k_dai" not in unread
    assert [r["code"] for r in page.context["receipts"]] == [XINFU]  # only the audience
    assert texts(city, "notice") == []  # the publisher is not asked to read their own


def test_withdrawn_notice_disappears_for_readers(client, city):
    clerk = make_user("k_xinfu", XINFU)
    notice = services.publish(user=city, title="停电检修通知", body="周六停电", audience="all")
    assert len(texts(clerk, "notice")) == 1
    with pytest.raises(PermissionDenied):
        services.withdraw(notice, user=make_user("k_xadmin", XINFU, role="county_admin"), reason="错发")
    client.force_login(city)
    client.post(f"/desk/notices/{notice.pk}/", {"reason": "时间有误"})
    assert texts(clerk, "notice") == []
    client.force_login(clerk)
    assert client.get(f"/desk/notices/{notice.pk}/").status_code == 404
    client.force_login(city)
    assert "已撤回" in client.get("/desk/notices/").content.decode()


def test_all_counties_audience_reaches_everyone_and_counts_per_county(city):
    users = [make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN), make_user("k_town", township_code(), role="township_clerk")]
    notice = services.publish(user=city, title="全市调度会通知", body="周一上午九点", audience="all")
    assert all(len(texts(u, "notice")) == 1 for u in users)
    def rows():
        return {r["code"]: (len(r["read"]), len(r["unread"])) for r in queries.read_receipts(notice)}
    before = rows()
    assert services.mark_read(notice, user=users[1]) and not services.mark_read(notice, user=users[1])
    after = rows()
    assert after[XINFU] == before[XINFU] and after[XINFU][0] == 0 and after[XINFU][1] >= 2
    assert after[DAIXIAN] == (1, before[DAIXIAN][1] - 1)
    everyone = {r["user"].username for row in queries.read_receipts(notice) for r in row["unread"] + row["read"]}
    assert "city_admin" in everyone and city.username not in everyone  # other city users, not the publisher


def test_who_may_publish_and_what_is_refused(city):
    county_admin = make_user("k_xadmin", XINFU, role="county_admin")
    town = make_user("k_town", township_code(), role="township_clerk")
    notice = services.publish(user=county_admin, title="县内通知", body="正文", audience=[township_code()])
    assert len(texts(town, "notice")) == 1 and texts(make_user("k_dai", DAIXIAN), "notice") == []
    assert notice.publisher_scope == XINFU and list(notice.audience.values_list("prefix", flat=True)) == [township_code()]
    with pytest.raises(ValidationError, match="不在本单位辖区"):
        services.publish(user=county_admin, title="越界", body="正文", audience=[DAIXIAN])
    with pytest.raises(PermissionDenied):
        services.publish(user=make_user("k_clerk", XINFU), title="业务员", body="正文")
    with pytest.raises(PermissionDenied):
        services.publish(user=make_user("k_viewer", "1409", role="city_viewer"), title="领导", body="正文")
    with pytest.raises(ValidationError, match="请填写标题"):
        services.publish(user=city, title=" ", body="正文")
    with pytest.raises(ValidationError, match="附件类型不支持"):
        services.publish(user=city, title="带附件", body="正文",
                         attachment=SimpleUploadedFile("run.exe", b"MZ"))
    with pytest.raises(ValidationError, match="请选择发布范围"):
        services.publish(user=city, title="无范围", body="正文", audience=[])
    assert queries.visible_notices(county_admin, include_withdrawn=True).count() == 1


def test_menu_shows_the_unread_count(client, city):
    clerk = make_user("k_xinfu", XINFU)
    services.publish(user=city, title="一", body="正文", audience="all")
    services.publish(user=city, title="二", body="正文", audience=[XINFU])
    client.force_login(clerk)
    page = client.get("/desk/notices/").content.decode()
    assert 'id="nav-notices">通知公告 <span class="badge">2</span>' in page


def test_api_lists_my_to_dos_and_notices_and_marks_read(client, city):
    clerk, other = make_user("k_xinfu", XINFU), make_user("k_dai", DAIXIAN)
    notice = services.publish(user=city, title="接口通知", body="正文", audience=[XINFU])
    client.force_login(clerk)
    todo = client.get("/api/desk/todos").json()
    assert {"kind": "notice", "text": "未读通知公告：接口通知", "url": f"/desk/notices/{notice.pk}/",
            "urgent": True} in todo
    listed = client.get("/api/desk/notices").json()
    assert [(n["title"], n["unread"]) for n in listed] == [("接口通知", True)]
    assert client.get(f"/api/desk/notices/{notice.pk}").json()["body"] == "正文"
    assert client.post(f"/api/desk/notices/{notice.pk}/read").json()["unread"] is False
    assert client.get("/api/desk/notices").json()[0]["unread"] is False
    client.force_login(other)
    assert client.get("/api/desk/notices").json() == []
    assert client.get(f"/api/desk/notices/{notice.pk}").status_code == 404
    assert client.post(f"/api/desk/notices/{notice.pk}/read").status_code == 404


def test_the_panel_is_a_handful_of_queries_whatever_the_role(city, django_assert_max_num_queries):
    compliance.findings("1409")  # the city's scan as cached by the compliance page
    for user in (city, make_user("k_xinfu", XINFU), make_user("k_village", village_code(), role="village_clerk")):
        todos.for_user(user)  # the first call of a process resolves URLs and imports
        with django_assert_max_num_queries(10):
            todos.for_user(user)
