"""Hotline tickets (issue #17): routing by allocation, SLA as data with statuses at the right minutes,
escalation, outages feeding 先立后破, callbacks, the SMS outbox."""
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from cleanheat import pii
from cleanheat.ledger import services as ledger
from cleanheat.ledger.models import Household
from cleanheat.procurement.models import Allocation
from cleanheat.regions.models import Region
from cleanheat.rules import compliance, engine
from cleanheat.service import outbox, services, sla
from cleanheat.service.models import (
    RepairTeam,
    SlaTarget,
    SmsMessage,
    Status,
    Ticket,
    TicketEvent,
)

from .conftest import make_user
from .factories import accept, household_data

pytestmark = pytest.mark.django_db
XINFU, DAIXIAN = "140902", "140923"
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 10, 8, 0, tzinfo=TZ)


@pytest.fixture
def hotline():
    return make_user("t_hotline", "1409", role="hotline_operator")


@pytest.fixture
def allocated():
    """A 忻府区 household with equipment allocated, and the vendor's team there."""
    allocation = Allocation.objects.filter(released_at__isnull=True, household__village__code__startswith=XINFU,
                                           household__archived=False).select_related("line__contract").first()
    team = RepairTeam.objects.get(organisation__name=allocation.line.contract.vendor, region_code=XINFU)
    return allocation.household, team


def repairer(team, name="t_repair"):
    return make_user(name, team.region_code, role="vendor_repair", organisation=team.organisation)


def open_(user, household=None, now=T0, **extra):
    data = {"household": household, "category": "device_fault", "severity": "normal", "source": "hotline",
            "description": "室外机不转", **extra}
    return services.open_ticket(user, data, now=now)


# ---- routing ------------------------------------------------------------------------------------

def test_a_device_fault_goes_to_the_team_of_the_allocated_vendor_in_that_county(hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household)
    assert ticket.team == team and team.organisation.kind == "vendor"
    assert ticket.number.startswith("GD260110") and "按设备分配" in ticket.route_note
    assert list(ticket.events.values_list("kind", flat=True)) == ["opened", "routed"]


def test_supply_faults_go_to_the_utility_and_questions_to_the_county_office(hotline, allocated):
    household, _ = allocated
    assert open_(hotline, household, category="power_supply").team.organisation.kind == "grid"
    assert open_(hotline, household, category="gas_supply").team.organisation.kind == "gas"
    office = open_(hotline, household, category="subsidy").team
    assert (office.organisation.kind, office.region_code) == ("county_gov", XINFU)


def test_an_unknown_caller_opens_a_ticket_with_a_village_and_a_phone_that_matches_nobody(hotline):
    assert services.find_by_phone(hotline, "13700000001") == []
    village = Region.objects.filter(level=4, code__startswith=DAIXIAN).order_by("code").first().code
    ticket = open_(hotline, None, village_code=village, caller_phone="137 0000 0001", category="consultation")
    assert ticket.household is None and ticket.village_code == village
    assert ticket.caller_phone_masked == "137****0001" and pii.decrypt(ticket.caller_phone_cipher) == "13700000001"
    with pytest.raises(ValidationError) as refused:
        open_(hotline, None, caller_phone="13700000001")
    assert "请选择所在村" in str(refused.value)


def test_the_phone_finds_the_household_through_the_keyed_hash(hotline, allocated):
    household, _ = allocated
    ledger.update_household(household, {"phone": "13811112222"}, user=None)
    assert [h.pk for h in services.find_by_phone(hotline, "138-1111-2222")] == [household.pk]
    county_user = make_user("t_dx", DAIXIAN, role="county_admin")
    assert services.find_by_phone(county_user, "13811112222") == []


def test_a_household_outside_the_scope_is_not_found(allocated):
    household, _ = allocated
    clerk = make_user("t_dx_clerk", DAIXIAN, role="county_clerk")
    with pytest.raises(Http404):
        open_(clerk, household)
    assert not Ticket.objects.filter(created_by=clerk).exists()
    with pytest.raises(PermissionDenied):
        open_(make_user("t_fin", "1409", role="finance_staff"), household)


# ---- SLA ----------------------------------------------------------------------------------------

def test_sla_status_turns_at_risk_and_breached_at_the_right_minutes():
    target = sla.Target(respond=120, onsite=1440, fix=2880, at_risk=0.75)
    due = sla.deadlines(T0, target)
    assert due["respond"] == T0 + timedelta(hours=2)
    at = lambda minutes, **done: sla.status(T0 + timedelta(minutes=minutes), T0, due, done, 0.75)
    assert at(89) == sla.ON_TRACK and at(90) == sla.AT_RISK and at(119) == sla.AT_RISK and at(120) == sla.BREACHED
    responded = {"respond": T0 + timedelta(minutes=30)}
    assert at(120, **responded) == sla.ON_TRACK
    assert at(1079, **responded) == sla.ON_TRACK and at(1080, **responded) == sla.AT_RISK  # 0.75 × 24 h
    # clock time: a Saturday counts like any day
    assert sla.status(datetime(2026, 1, 10, 10, 0, tzinfo=TZ), T0, due, {}, 0.75) == sla.BREACHED
    late = {"respond": T0 + timedelta(minutes=121), "onsite": T0 + timedelta(minutes=200)}
    assert at(300, **late) == sla.BREACHED  # done late stays breached


def test_the_sweep_writes_statuses_at_the_right_minutes(hotline, allocated):
    household, _ = allocated
    ticket = open_(hotline, household)  # device fault, normal: respond 120 min
    for minutes, expected in [(89, "on_track"), (90, "at_risk"), (119, "at_risk"), (120, "breached")]:
        services.sweep(T0 + timedelta(minutes=minutes))
        ticket.refresh_from_db()
        assert ticket.sla_status == expected, minutes
    assert ticket.breached_at == T0 + timedelta(minutes=120)


def test_cold_weather_tightens_the_deadlines(hotline, allocated):
    household, _ = allocated
    warm = open_(hotline, household, category="no_heat", outdoor_temp_c="2")
    cold = open_(hotline, household, category="no_heat", outdoor_temp_c="-25")
    assert not warm.cold and cold.cold
    assert cold.due_fix - cold.opened_at < warm.due_fix - warm.opened_at


def test_escalation_to_the_county_then_the_city_on_schedule(hotline, allocated):
    household, _ = allocated
    ticket = open_(hotline, household)
    breach = ticket.due_respond
    services.sweep(breach - timedelta(minutes=1))
    ticket.refresh_from_db()
    assert ticket.escalation == 0
    services.sweep(breach)
    services.sweep(breach + timedelta(minutes=5))  # nothing new: no second event
    ticket.refresh_from_db()
    assert ticket.escalation == 1
    services.sweep(breach + timedelta(minutes=ticket.escalate_city_minutes))
    ticket.refresh_from_db()
    assert ticket.escalation == 2
    notes = list(ticket.events.filter(kind="escalated").values_list("note", flat=True))
    assert notes == ["超时升级至县级清洁取暖办", "超时升级至市清洁取暖办"]
    county, city = RepairTeam.objects.get(organisation__kind="county_gov", region_code=XINFU), \
        RepairTeam.objects.get(organisation__kind="city_office")
    sent = SmsMessage.objects.filter(ticket=ticket, template="escalated").order_by("pk")
    assert [m.to_masked for m in sent] == [county.phone[:3] + "****" + county.phone[-4:],
                                           city.phone[:3] + "****" + city.phone[-4:]]
    assert str(county) in sent[0].body and ticket.number in sent[0].body


def test_sla_data_with_a_negative_duration_is_refused():
    spec = services.read_config()
    spec["sla"][0]["onsite"] = -60
    with pytest.raises(ValidationError) as refused:
        services.load_config(spec)
    assert "到场时限须为正数" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaTarget.objects.filter(pk=SlaTarget.objects.first().pk).update(respond_minutes=-5)


# ---- working the ticket -------------------------------------------------------------------------

def test_a_resolution_needs_a_cause_code_and_the_second_phone_is_told(hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household)
    one, two = repairer(team, "t_r1"), repairer(team, "t_r2")
    services.arrive(ticket, one, lat="38.41", lon="112.73", now=T0 + timedelta(minutes=40))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.responded_at, str(ticket.arrived_lat)) == ("on_site", T0 + timedelta(minutes=40),
                                                                            "38.410000")
    version = ticket.version
    with pytest.raises(ValidationError) as refused:
        services.resolve(ticket, one, cause="", version=version)
    assert "请选择故障原因" in str(refused.value)
    services.resolve(ticket, one, cause="E01", parts="风机电容", version=version)
    with pytest.raises(ValidationError) as second:
        services.resolve(ticket, two, cause="E03", version=version)
    assert "已被他人处理" in str(second.value)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.cause.code, ticket.resolved_by) == ("resolved", "E01", one)


def test_a_family_not_home_is_a_recorded_visit_not_a_closed_ticket(hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household)
    services.not_home(ticket, repairer(team), note="电话未接")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.events.filter(kind="not_home", note__contains="电话未接").exists()


def test_another_vendor_or_county_cannot_work_the_ticket(hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household)
    with pytest.raises(Http404):
        services.arrive(ticket, make_user("t_dx_r", DAIXIAN, role="vendor_repair", organisation=team.organisation))


# ---- outages and 先立后破 -------------------------------------------------------------------------

def _commissioned_2025(clerk):
    village = Region.objects.filter(level=4, code__startswith="140928").order_by("code").first().code
    h = ledger.create_household(household_data(county="140928", village=village), user=clerk)
    h.lifecycle_events.update(occurred_on=date(2025, 3, 1))
    for state, day in [("selected", date(2025, 6, 1)), ("installing", date(2025, 7, 1)),
                       ("installed", date(2025, 10, 1))]:
        ledger.transition(h, state, user=clerk, occurred_on=day)
    accept(Household.objects.get(pk=h.pk), user=clerk, on=date(2025, 10, 20))
    return Household.objects.get(pk=h.pk)


def test_a_no_heat_ticket_opens_an_outage_that_resolving_closes_and_the_rule_reads(city_admin):
    h = _commissioned_2025(city_admin)
    opened = datetime(2025, 12, 1, 9, 0, tzinfo=TZ)
    ticket = open_(city_admin, h, now=opened, category="no_heat", description="屋里不热")
    outage = ticket.outage
    assert (outage.is_outage, outage.reported_on, outage.resolved_on) == (True, date(2025, 12, 1), None)
    services.resolve(ticket, city_admin, cause="E01", now=datetime(2025, 12, 9, 17, 0, tzinfo=TZ))
    outage.refresh_from_db()
    assert outage.resolved_on == date(2025, 12, 9)
    problem = engine.for_transition(h, "proven", date(2026, 4, 1))["to_state"]
    assert "停暖9天" in problem and "先立后破" in problem
    voided = [f for f in compliance.scan("140928") if f.household_id == h.pk]
    assert voided and "已不能认定为稳定运行" in voided[0].message


def test_a_short_ticket_outage_keeps_the_season(city_admin):
    h = _commissioned_2025(city_admin)
    ticket = open_(city_admin, h, now=datetime(2025, 12, 1, 9, 0, tzinfo=TZ), category="no_heat")
    services.resolve(ticket, city_admin, cause="E03", now=datetime(2025, 12, 2, 12, 0, tzinfo=TZ))
    assert engine.for_transition(h, "proven", date(2026, 4, 1)) == {}


# ---- callback -----------------------------------------------------------------------------------

def test_not_satisfied_reopens_the_ticket_and_its_outage_satisfied_closes(hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household, category="no_heat")
    with pytest.raises(ValidationError):
        services.callback(ticket, hotline, satisfied=True)  # not resolved yet
    services.resolve(ticket, repairer(team), cause="E01", now=T0 + timedelta(hours=5))
    reopened_at = T0 + timedelta(hours=30)
    services.callback(ticket, hotline, satisfied=False, note="还是不热", now=reopened_at)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopened, ticket.resolved_at, ticket.clock_start) == ("open", 1, None, reopened_at)
    assert ticket.due_fix > reopened_at and ticket.outage.resolved_on is None
    services.resolve(ticket, repairer(team, "t_r3"), cause="E05", now=reopened_at + timedelta(hours=3))
    services.callback(ticket, hotline, satisfied=True)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.satisfied) == ("closed", True)
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count("resolved") == 2 and "reopened" in kinds and kinds[-1] == "closed"


# ---- SMS outbox ---------------------------------------------------------------------------------

def test_sms_outbox_retries_with_backoff_and_never_sends_twice(hotline, allocated, monkeypatch, settings):
    household, _ = allocated
    ledger.update_household(household, {"phone": "13811113333"}, user=None)
    ticket = open_(hotline, household)
    queued = SmsMessage.objects.filter(ticket=ticket)
    assert set(queued.values_list("template", flat=True)) == {"opened", "team_new"}
    outbox.ticket_opened(ticket)  # the same notice again: nothing new
    assert queued.count() == 2
    family = queued.get(template="opened")
    assert family.to_masked == "138****3333" and ticket.number in family.body
    calls, fail = [], {"times": 2}

    def gateway(message, phone):
        calls.append((message.pk, phone))
        if fail["times"]:
            fail["times"] -= 1
            raise outbox.SendError("网关超时")
    monkeypatch.setitem(outbox.BACKENDS, "test", gateway)
    SmsMessage.objects.exclude(pk=family.pk).update(status="sent")
    now = T0 + timedelta(minutes=1)
    assert outbox.send_due(now, backend="test") == {"sent": 0, "retried": 1, "failed": 0}
    family.refresh_from_db()
    assert (family.status, family.attempts, family.next_attempt_at) == ("queued", 1, now + timedelta(minutes=1))
    assert outbox.send_due(now, backend="test") == {"sent": 0, "retried": 0, "failed": 0}  # not due yet
    outbox.send_due(now + timedelta(minutes=1), backend="test")
    family.refresh_from_db()
    assert family.next_attempt_at == now + timedelta(minutes=3)  # 1, then 2 minutes
    assert outbox.send_due(now + timedelta(minutes=3), backend="test")["sent"] == 1
    assert outbox.send_due(now + timedelta(hours=1), backend="test")["sent"] == 0
    assert [c[1] for c in calls] == ["13811113333"] * 3
    family.refresh_from_db()
    assert (family.status, family.attempts) == ("sent", 3)


def test_a_message_that_keeps_failing_is_kept_as_failed(hotline, allocated, monkeypatch, settings):
    settings.CLEANHEAT_SMS_MAX_ATTEMPTS = 2
    household, _ = allocated
    ledger.update_household(household, {"phone": "13811114444"}, user=None)
    open_(hotline, household)

    def down(message, phone):
        raise outbox.SendError("网关不可用")
    monkeypatch.setitem(outbox.BACKENDS, "down", down)
    outbox.send_due(T0, backend="down")
    outbox.send_due(T0 + timedelta(hours=1), backend="down")
    assert set(SmsMessage.objects.filter(ticket__household=household).values_list("status", "attempts",
                                                                                  "last_error")) \
        == {("failed", 2, "网关不可用")}


def test_the_file_backend_writes_each_message_once(hotline, allocated, settings, tmp_path):
    household, _ = allocated
    ledger.update_household(household, {"phone": "13811115555"}, user=None)
    open_(hotline, household)
    outbox.send_due(T0, backend="file")
    outbox.send_due(T0 + timedelta(hours=1), backend="file")
    lines = (tmp_path / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == SmsMessage.objects.filter(status="sent").count() >= 2
    assert "13811115555" not in "".join(lines)  # the file keeps the masked number only


def test_the_demo_winter_has_tickets_of_every_kind():
    assert Ticket.objects.filter(description__contains="演示").count() >= 80
    assert Ticket.objects.filter(status__in=["open", "accepted", "on_site"]).exists()
    assert Ticket.objects.filter(sla_status="breached").exists()
    assert Ticket.objects.filter(outage__isnull=False).exists()
    assert TicketEvent.objects.filter(kind="closed").exists()
    assert Status.CLOSED in set(Ticket.objects.values_list("status", flat=True))


# ---- pages, photos, API, dashboard --------------------------------------------------------------

def jpeg(size=(800, 600), *, gps=True) -> bytes:
    """A JPEG with EXIF time taken and GPS position, as a phone camera writes it."""
    import io

    from PIL import Image
    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2026:01:10 09:15:00"
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (38.0, 24.0, 36.0), 3: "E", 4: (112.0, 44.0, 24.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_hotline_finds_the_household_by_phone_and_opens_a_ticket(client, hotline, allocated):
    household, team = allocated
    ledger.update_household(household, {"phone": "13811116666"}, user=None)
    client.force_login(hotline)
    page = client.get("/service/new/", {"caller_phone": "13811116666"}).content.decode()
    assert household.household_no in page
    unknown = client.get("/service/new/", {"caller_phone": "13000000009"}).content.decode()
    assert "该号码没有对应的居民用户" in unknown
    response = client.post("/service/new/", {"create": "1", "caller_phone": "13811116666",
                                             "household_no": household.household_no, "category": "no_heat",
                                             "severity": "urgent", "source": "hotline", "description": "暖气不热"})
    ticket = Ticket.objects.get(household=household, description="暖气不热")
    assert response.status_code == 302 and response.url == f"/service/tickets/{ticket.pk}/"
    page = client.get(response.url).content.decode()
    assert ticket.number in page and str(team) in page and "停暖记录" in page
    refused = client.post("/service/new/", {"create": "1", "category": "no_heat", "severity": "urgent",
                                            "source": "hotline", "description": ""}).content.decode()
    assert "请选择所在村" in refused and "情况描述不能为空" in refused


def test_lists_show_only_the_scope_and_a_team_only_its_own_tickets(client, hotline, allocated):
    household, team = allocated
    ticket = open_(hotline, household)
    client.force_login(make_user("t_dx_admin", DAIXIAN, role="county_admin"))
    assert ticket.number not in client.get("/service/", {"status": "open"}).content.decode()
    assert client.get(f"/service/tickets/{ticket.pk}/").status_code == 404
    other = RepairTeam.objects.filter(organisation__kind="vendor", region_code=XINFU).exclude(pk=team.pk).first()
    client.force_login(repairer(other, "t_other_vendor"))
    assert ticket.number not in client.get("/service/mine/").content.decode()
    assert client.get(f"/service/tickets/{ticket.pk}/").status_code == 404
    client.force_login(repairer(team))
    assert ticket.number in client.get("/service/mine/").content.decode()


def test_photos_keep_exif_time_and_position_are_resized_and_refused_when_not_images(client, hotline, allocated,
                                                                                     settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    household, team = allocated
    ticket = open_(hotline, household)
    client.force_login(repairer(team))
    client.post(f"/service/tickets/{ticket.pk}/photos/", {"stage": "before", "photo": SimpleUploadedFile(
        "室外机.jpg", jpeg((4000, 3000)), content_type="image/jpeg")})
    photo = ticket.photos.get()
    assert (photo.width, photo.height) == (1600, 1200)
    assert (str(photo.lat), str(photo.lon)) == ("38.410000", "112.740000")
    assert photo.taken_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == "2026-01-10 09:15"  # camera local time
    served = client.get(f"/service/photos/{photo.pk}/")
    assert served["Content-Type"] == "image/jpeg" and b"".join(served.streaming_content)[:2] == b"\xff\xd8"
    response = client.post(f"/service/tickets/{ticket.pk}/photos/", {"stage": "after", "photo": SimpleUploadedFile(
        "发票.pdf", b"%PDF-1.4 not an image", content_type="image/jpeg")}, follow=True)
    assert "文件不是可识别的图片" in response.content.decode()
    settings.CLEANHEAT_TICKET_PHOTO_MAX_BYTES = 1000
    response = client.post(f"/service/tickets/{ticket.pk}/photos/", {"stage": "after", "photo": SimpleUploadedFile(
        "大图.jpg", jpeg(), content_type="image/jpeg")}, follow=True)
    assert "过大" in response.content.decode()
    assert ticket.photos.count() == 1
    client.force_login(make_user("t_dx_admin2", DAIXIAN, role="county_admin"))
    assert client.get(f"/service/photos/{photo.pk}/").status_code == 404


def test_calling_the_family_reveals_the_number_and_audits_it(client, hotline, allocated):
    from cleanheat.audit.models import AuditEvent
    household, team = allocated
    ledger.update_household(household, {"phone": "13811117777"}, user=None)
    ticket = open_(hotline, household)
    client.force_login(repairer(team))
    assert "13811117777" not in client.get(f"/service/tickets/{ticket.pk}/").content.decode()
    page = client.post(f"/service/tickets/{ticket.pk}/call/").content.decode()
    assert 'href="tel:13811117777"' in page
    assert AuditEvent.objects.filter(action="pii_reveal", target=household.household_no,
                                     detail__contains=ticket.number).exists()


def test_the_api_opens_lists_and_works_tickets_within_the_scope(client, allocated):
    import json
    household, team = allocated
    client.force_login(make_user("t_api_admin", XINFU, role="county_admin"))
    made = client.post("/api/service/tickets", json.dumps({"household_no": household.household_no,
                                                           "category": "device_fault", "description": "监测平台报警"}),
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["team"] == str(team) and made.json()["source"] == "monitor"
    pk = made.json()["id"]
    other = Household.objects.filter(village__code__startswith=DAIXIAN, archived=False).first()
    assert client.post("/api/service/tickets", json.dumps({"household_no": other.household_no, "category": "no_heat",
                                                           "description": "x"}),
                       content_type="application/json").status_code == 404
    assert pk in [t["id"] for t in client.get("/api/service/tickets", {"status": "open"}).json()]
    no_cause = client.post(f"/api/service/tickets/{pk}/actions", json.dumps({"action": "resolve"}),
                           content_type="application/json")
    assert no_cause.status_code == 422 and no_cause.json()["errors"]["cause"] == ["请选择故障原因"]
    done = client.post(f"/api/service/tickets/{pk}/actions", json.dumps({"action": "resolve", "cause": "E03"}),
                       content_type="application/json")
    assert done.json()["status"] == "resolved"
    again = client.post(f"/api/service/tickets/{pk}/actions", json.dumps({"action": "resolve", "cause": "E03",
                                                                          "version": done.json()["version"]}),
                        content_type="application/json")
    assert again.status_code == 422 and "已被他人处理" in again.json()["errors"]["status"][0]


def test_the_winter_dashboard_counts_drills_down_and_exports(client, city_admin):
    import io

    import openpyxl
    client.force_login(city_admin)
    page = client.get("/service/dashboard/", {"season": "2022"}).content.decode()
    assert "2022—2023采暖季" in page and 'id="by-vendor"' in page and "时限达标率" in page
    season = Ticket.objects.filter(opened_at__year__in=[2022, 2023], opened_at__lt=datetime(2023, 5, 1, tzinfo=TZ))
    assert f"<dd>{season.count()}</dd>" in page
    export = client.get("/service/dashboard/export.xlsx", {"season": "2022"})
    book = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    assert book.sheetnames == ["各县", "设备企业", "未修复按类别", "重复故障户"]
    repeated = [r for r in book["重复故障户"].iter_rows(min_row=4, values_only=True) if r[0]]
    assert repeated and all(r[3] >= 3 for r in repeated)


def test_the_dashboard_is_fresh_after_every_ticket_write_and_sweep(client, city_admin, hotline, allocated):
    household, team = allocated
    client.force_login(city_admin)

    def headline():
        page = client.get("/service/dashboard/").content.decode()
        return re.search(r'id="headline">.*?<dd>(\d+)</dd>.*?<dd><a[^>]*>(\d+)</a>', page, re.DOTALL).groups()
    total, opened = map(int, headline())
    ticket = services.open_ticket(hotline, {"household": household, "category": "device_fault", "severity": "normal",
                                            "source": "hotline", "description": "看板"})
    assert headline() == (str(total + 1), str(opened + 1))
    services.resolve(ticket, repairer(team), cause="E01")
    assert headline() == (str(total + 1), str(opened))


def test_a_family_replying_by_sms_closes_or_reopens(client, hotline, allocated):
    import json
    household, team = allocated
    ledger.update_household(household, {"phone": "13811118888"}, user=None)
    ticket = open_(hotline, household)
    services.resolve(ticket, repairer(team), cause="E01", now=T0 + timedelta(hours=2))
    client.force_login(hotline)
    unclear = client.post("/api/service/sms-replies", json.dumps({"phone": "13811118888", "text": "收到"}),
                          content_type="application/json")
    assert unclear.status_code == 422 and "无法识别的回复" in unclear.json()["errors"]["text"][0]
    reply = client.post("/api/service/sms-replies", json.dumps({"phone": "13811118888", "text": "不满意，还是不热"}),
                        content_type="application/json")
    assert reply.status_code == 200 and reply.json()["status"] == "open" and reply.json()["id"] == ticket.pk
    assert ticket.events.filter(kind="callback", note__contains="短信回复").exists()
    none_left = client.post("/api/service/sms-replies", json.dumps({"phone": "13811118888", "text": "满意"}),
                            content_type="application/json")
    assert none_left.status_code == 422 and none_left.json()["errors"]["phone"] == ["该号码没有待回访的工单"]


@pytest.mark.django_db(transaction=True)
def test_two_phones_resolving_at_the_same_moment_exactly_one_wins(demo_cfg):
    import threading

    from django.db import connection

    from cleanheat.demo.loader import load_demo
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL")
    if not Household.objects.exists():  # transactional tests start from an empty database
        load_demo(demo_cfg, scale=0.002)
    allocation = Allocation.objects.filter(released_at__isnull=True, household__village__code__startswith=XINFU,
                                           household__archived=False).select_related("line__contract").first()
    team = RepairTeam.objects.get(organisation__name=allocation.line.contract.vendor, region_code=XINFU)
    hotline = make_user("race_hotline", "1409", role="hotline_operator")
    ticket = open_(hotline, allocation.household, category="no_heat")
    phones = [repairer(team, "race_r1"), repairer(team, "race_r2")]
    start, outcomes = threading.Barrier(2), []

    def resolve(user, cause):
        try:
            start.wait()
            services.resolve(ticket, user, cause=cause, version=ticket.version)
            outcomes.append("resolved")
        except ValidationError as error:
            outcomes.append(error.message_dict["status"][0] if "status" in error.message_dict
                            else error.message_dict["version"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=a) for a in ((phones[0], "E01"), (phones[1], "E03"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("resolved") == 1 and any("已被他人处理" in o for o in outcomes)
    ticket.refresh_from_db()
    assert ticket.events.filter(kind="resolved").count() == 1 and ticket.outage.resolved_on is not None


def test_a_monitoring_platform_opens_a_ticket_with_a_machine_token(admin_client, allocated):
    import json

    from .test_api_tokens import bearer, issue
    household, team = allocated
    platform = make_user("t_monitor_sync", XINFU, role="county_clerk")
    token = issue(admin_client, platform, name="设备厂家监测平台")
    machine = bearer(token)
    made = machine.post("/api/service/tickets", json.dumps({"household_no": household.household_no,
                                                            "category": "no_heat", "description": "监测平台：出水温度低"}),
                        content_type="application/json")
    assert made.status_code == 201 and made.json()["team"] == str(team) and made.json()["source"] == "monitor"
    ticket = Ticket.objects.get(pk=made.json()["id"])
    assert ticket.created_by == platform and ticket.outage is not None     # no heat: an outage is open
    other = Household.objects.filter(village__code__startswith=DAIXIAN, archived=False).first()
    assert machine.post("/api/service/tickets", json.dumps({"household_no": other.household_no, "category": "no_heat",
                                                            "description": "x"}),
                        content_type="application/json").status_code == 404
    assert bearer("chk_revoked-or-made-up").get("/api/service/tickets").status_code == 401
