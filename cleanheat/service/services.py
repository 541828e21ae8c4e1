"""Every write of the hotline and repair work: open, route, respond, arrive, photos, resolve, call back,
the SLA sweep and escalation. Checks come first (ValidationError with Chinese messages naming the
field), then one transaction writes."""
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cleanheat import inputs, pii
from cleanheat.access import in_scope, require_in_scope, require_perm
from cleanheat.accounts import roles
from cleanheat.accounts.models import Organisation
from cleanheat.audit.services import record
from cleanheat.ledger import identity
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household
from cleanheat.ledger.queries import scoped_households
from cleanheat.procurement.models import Allocation, CountyClimate
from cleanheat.regions.models import Region

from . import outbox, photos, queries, sla
from .models import (
    OPEN_STATUSES,
    Category,
    CauseCode,
    RepairTeam,
    Severity,
    SlaStatus,
    SlaTarget,
    SmsTemplate,
    Source,
    Status,
    Ticket,
    TicketEvent,
    TicketPhoto,
)

DATA = Path(__file__).resolve().parent / "data" / "service.json"
STALE = "该工单已被他人处理或修改（{what}），请刷新后再看"


def read_config(path: Path = DATA) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@transaction.atomic
def load_config(spec: dict | None = None) -> None:
    """SLA targets, cause codes and SMS templates from the data file (idempotent; rows edited in the
    admin since are overwritten only for the keys the file names)."""
    spec = spec or read_config()
    defaults = spec["sla_defaults"]
    problems = {}
    for i, row in enumerate(spec["sla"], start=1):
        target = sla.Target(row["respond"], row["onsite"], row["fix"], defaults["at_risk_fraction"])
        for stage, message in target.problems().items():
            problems[f"sla[{i}].{stage}"] = [f"第{i}行（{row['category']} {row['severity']}）：{message}"]
    if problems:
        raise ValidationError(problems)
    for row in spec["sla"]:
        SlaTarget.objects.update_or_create(
            category=row["category"], severity=row["severity"], cold=row["cold"],
            defaults={"respond_minutes": row["respond"], "onsite_minutes": row["onsite"], "fix_minutes": row["fix"],
                      "at_risk_fraction": Decimal(str(defaults["at_risk_fraction"])),
                      "escalate_county_minutes": defaults["escalate_county_minutes"],
                      "escalate_city_minutes": defaults["escalate_city_minutes"]})
    for code, label in spec["causes"]:
        CauseCode.objects.update_or_create(code=code, defaults={"label": label})
    for key, text in spec["sms"].items():
        SmsTemplate.objects.update_or_create(key=key, defaults={"text": text})


def sla_rows() -> dict:
    return {(t.category, t.severity, t.cold): t for t in SlaTarget.objects.all()}


def target_of(row: SlaTarget) -> sla.Target:
    return sla.Target(row.respond_minutes, row.onsite_minutes, row.fix_minutes, float(row.at_risk_fraction))


# ---- routing ------------------------------------------------------------------------------------

@dataclass
class Route:
    team: RepairTeam | None
    note: str


def team_for(kind: str, village_code: str, *, vendor: str = "") -> RepairTeam | None:
    """The team of an organisation of `kind` (and name, for a vendor) whose area holds the village,
    the narrowest area first (a county team before a city-wide one)."""
    teams = RepairTeam.objects.filter(organisation__kind=kind).select_related("organisation")
    if vendor:
        teams = teams.filter(organisation__name=vendor)
    found = [t for t in teams if village_code.startswith(t.region_code)]
    return max(found, key=lambda t: len(t.region_code), default=None)


def allocated_vendor(household: Household | None) -> str:
    if household is None:
        return ""
    allocation = Allocation.objects.filter(household=household, released_at__isnull=True) \
        .select_related("line__contract").first()
    return allocation.line.contract.vendor if allocation else ""


def route(category: str, village_code: str, household: Household | None, spec: dict | None = None) -> Route:
    """Device faults to the repair team of the vendor whose equipment is allocated to the household (in
    its county); supply faults to the grid / gas / heat company of the area; questions and complaints
    to the county office. Which kind answers which category is data (service.json "routes")."""
    spec = spec or read_config()
    kind = spec["routes"][category]
    county = village_code[:6]
    if kind == "vendor":
        vendor = allocated_vendor(household)
        if vendor:
            team = team_for("vendor", village_code, vendor=vendor)
            if team:
                return Route(team, f"按设备分配：{vendor}")
            return Route(team_for("county_gov", county), f"{vendor}在本县没有维修专班，转县级清洁取暖办")
        path = household.heating_path if household else ""
        kind = spec["no_heat_without_equipment"].get(path, "county_gov")
        if kind == "vendor":
            kind = "county_gov"
    team = team_for(kind, village_code)
    label = dict(Organisation.KIND_CHOICES).get(kind, kind)
    if team:
        return Route(team, f"按类别派至{label}")
    return Route(team_for("county_gov", county), f"本区域没有{label}专班，转县级清洁取暖办")


# ---- opening ------------------------------------------------------------------------------------

def find_by_phone(user, phone: str) -> list[Household]:
    """Households in the user's scope with this mobile (exact, via the keyed hash); [] for an unknown caller."""
    try:
        phone = identity.normalise_mobile(phone)
    except ValueError:
        return []
    return list(scoped_households(user).filter(phone_hash=pii.blind_index(phone, "phone"), archived=False)
                .select_related("village")[:10])


def is_cold(village_code: str, outdoor_temp_c: Decimal | None) -> bool:
    if outdoor_temp_c is None:
        return False
    climates = {c.county_code: c.design_temp_c for c in CountyClimate.objects.all()}
    design = climates.get(village_code[:6], climates.get(""))
    return design is not None and outdoor_temp_c < design


def _choice(value, choices, label, field) -> str:
    if value not in dict(choices):
        raise ValidationError({field: [f"请选择{label}"]})
    return value


def _clean_open(user, data: dict) -> dict:
    """Check everything before writing: the household in scope (404 outside it), or a village in scope."""
    errors = {}
    household = data.get("household")
    if household is not None:
        require_in_scope(user, household.village_id)
        household = Household.objects.get(pk=household.pk)  # as stored now (its phone for the SMS)
        village_code = household.village_id
    else:
        village_code = inputs.normalise_text(data.get("village_code") or "")
        if not village_code:
            errors["village_code"] = ["来电号码未对应到居民用户时，请选择所在村（社区）"]
        elif not (len(village_code) == 12 and Region.objects.filter(code=village_code, level=4).exists()
                  and in_scope(user, village_code)):
            raise ValidationError({"village_code": ["所选村（社区）不存在或不在您的管辖范围内"]})
    cleaned = {"household": household, "village_code": village_code}
    for field, choices, label in (("category", Category.choices, "类别"), ("severity", Severity.choices, "紧急程度"),
                                  ("source", Source.choices, "来源")):
        try:
            cleaned[field] = _choice(data.get(field), choices, label, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        cleaned["description"] = inputs.text(data.get("description"), "情况描述", max_length=500, required=True)
    except ValueError as exc:
        errors["description"] = [str(exc)]
    try:
        cleaned["caller_name"] = inputs.text(data.get("caller_name") or "", "来电人", max_length=40)
    except ValueError as exc:
        errors["caller_name"] = [str(exc)]
    phone = inputs.normalise_text(data.get("caller_phone") or "")
    cleaned["caller_phone"] = ""
    if phone:
        try:
            cleaned["caller_phone"] = identity.normalise_mobile(phone)
        except ValueError as exc:
            errors["caller_phone"] = [str(exc)]
    temp = data.get("outdoor_temp_c")
    cleaned["outdoor_temp_c"] = None
    if temp not in (None, ""):
        try:
            cleaned["outdoor_temp_c"] = inputs.decimal(temp, "室外温度", places=1, units=("℃", "度"))
            if not Decimal(-50) <= cleaned["outdoor_temp_c"] <= Decimal(30):
                errors["outdoor_temp_c"] = ["室外温度应在-50℃至30℃之间"]
        except (ValueError, InvalidOperation) as exc:
            errors["outdoor_temp_c"] = [str(exc)]
    if not errors and not SlaTarget.objects.filter(category=cleaned["category"], severity=cleaned["severity"],
                                                   cold=False).exists():
        errors["severity"] = ["该类别与紧急程度没有配置服务时限，请选择其他紧急程度或由管理员补充时限"]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _event(ticket, kind, user, channel, at, note="", lat=None, lon=None) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, kind=kind, user=user, channel=channel, at=at,
                                      note=note[:300], lat=lat, lon=lon)


def apply_target(ticket: Ticket, start: datetime, rows: dict | None = None) -> None:
    row = sla.pick(rows if rows is not None else sla_rows(), ticket.category, ticket.severity, ticket.cold)
    due = sla.deadlines(start, target_of(row))
    ticket.clock_start = start
    ticket.due_respond, ticket.due_onsite, ticket.due_fix = due["respond"], due["onsite"], due["fix"]
    ticket.at_risk_fraction = row.at_risk_fraction
    ticket.escalate_county_minutes = row.escalate_county_minutes
    ticket.escalate_city_minutes = row.escalate_city_minutes


def ticket_number(pk: int, at: datetime) -> str:
    return f"GD{timezone.localtime(at):%y%m%d}{pk:07d}"


def build_ticket(cleaned: dict, *, user, channel, now: datetime, route_: Route, rows: dict) -> Ticket:
    """The unsaved ticket for checked data (the single and the bulk path both use it)."""
    household = cleaned["household"]
    phone = cleaned["caller_phone"]
    ticket = Ticket(household=household, village_code=cleaned["village_code"], caller_name=cleaned["caller_name"],
                    caller_phone_cipher=pii.encrypt(phone) if phone else "",
                    caller_phone_hash=pii.blind_index(phone, "phone") if phone else "",
                    caller_phone_masked=identity.mask_mobile(phone) if phone else "",
                    category=cleaned["category"], severity=cleaned["severity"], source=cleaned["source"],
                    channel=channel, description=cleaned["description"], outdoor_temp_c=cleaned["outdoor_temp_c"],
                    cold=cleaned.get("cold", False), team=route_.team, route_note=route_.note[:200],
                    opened_at=now, created_by=user)
    apply_target(ticket, now, rows)
    return ticket


@transaction.atomic
def open_ticket(user, data: dict, *, channel=Channel.UI, now: datetime | None = None) -> Ticket:
    """Open, route and time a ticket; a 'no heat' ticket for a known household opens its outage."""
    require_perm(user, roles.SERVICE_OPEN)
    now = now or timezone.now()
    cleaned = _clean_open(user, data)
    cleaned["cold"] = is_cold(cleaned["village_code"], cleaned["outdoor_temp_c"])
    route_ = route(cleaned["category"], cleaned["village_code"], cleaned["household"])
    ticket = build_ticket(cleaned, user=user, channel=channel, now=now, route_=route_, rows=sla_rows())
    ticket.number = f"tmp-{now.timestamp()}"[:20]
    ticket.save()
    ticket.number = ticket_number(ticket.pk, now)
    if ticket.category == Category.NO_HEAT and ticket.household is not None:
        ticket.outage = ledger.record_outage(ticket.household, reported_on=timezone.localdate(now), resolved_on=None,
                                             description=f"热线工单{ticket.number}：{ticket.description}"[:200],
                                             user=user, channel=channel)
    ticket.save(update_fields=["number", "outage", "changed_at"])
    _event(ticket, "opened", user, channel, now, f"{ticket.get_source_display()}：{ticket.description}")
    _event(ticket, "routed", user, channel, now, f"{ticket.team or '未派单'}（{ticket.route_note}）")
    outbox.ticket_opened(ticket)
    return ticket


# ---- working a ticket ---------------------------------------------------------------------------

def _locked(ticket: Ticket, version) -> Ticket:
    current = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if version not in (None, "") and str(version) != str(current.version):
        raise ValidationError({"version": [STALE.format(what=f"当前状态：{current.get_status_display()}")]})
    return current


def _require_worker(user, ticket: Ticket) -> None:
    require_perm(user, roles.SERVICE_WORK)
    require_in_scope(user, ticket.village_code)


def _point(lat, lon) -> tuple[Decimal | None, Decimal | None]:
    if lat in (None, "") or lon in (None, ""):
        return None, None
    try:
        lat, lon = Decimal(str(lat)).quantize(Decimal("0.000001")), Decimal(str(lon)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"lat": ["位置不正确"]}) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"lat": ["位置不正确"]})
    return lat, lon


def _save(ticket: Ticket, fields: list[str]) -> None:
    ticket.version += 1
    ticket.save(update_fields=[*fields, "version", "changed_at"])


@transaction.atomic
def accept(ticket: Ticket, user, *, version=None, channel=Channel.UI, now=None) -> Ticket:
    """The team has the ticket (响应): the family gets 'engineer on the way'."""
    _require_worker(user, ticket)
    now = now or timezone.now()
    ticket = _locked(ticket, version)
    if ticket.status != Status.OPEN:
        raise ValidationError({"status": [STALE.format(what=f"已是“{ticket.get_status_display()}”")]})
    ticket.status, ticket.responded_at = Status.ACCEPTED, now
    _save(ticket, ["status", "responded_at"])
    _event(ticket, "accepted", user, channel, now, str(user))
    outbox.on_the_way(ticket, user)
    return ticket


@transaction.atomic
def arrive(ticket: Ticket, user, *, lat=None, lon=None, version=None, channel=Channel.UI, now=None) -> Ticket:
    """On site (到场): time, and the phone's position when it gives one."""
    _require_worker(user, ticket)
    now = now or timezone.now()
    lat, lon = _point(lat, lon)
    ticket = _locked(ticket, version)
    if ticket.status not in (Status.OPEN, Status.ACCEPTED):
        raise ValidationError({"status": [STALE.format(what=f"已是“{ticket.get_status_display()}”")]})
    fields = ["status", "arrived_at", "arrived_lat", "arrived_lon"]
    if ticket.responded_at is None:
        ticket.responded_at = now
        fields.append("responded_at")
    ticket.status, ticket.arrived_at, ticket.arrived_lat, ticket.arrived_lon = Status.ON_SITE, now, lat, lon
    _save(ticket, fields)
    _event(ticket, "arrived", user, channel, now, "已到场" + ("（有定位）" if lat is not None else ""), lat, lon)
    return ticket


@transaction.atomic
def not_home(ticket: Ticket, user, *, note="", lat=None, lon=None, channel=Channel.UI, now=None) -> TicketEvent:
    """A visit that found nobody home: recorded, the ticket stays open."""
    _require_worker(user, ticket)
    now = now or timezone.now()
    lat, lon = _point(lat, lon)
    ticket = _locked(ticket, None)
    if not ticket.is_open:
        raise ValidationError({"status": [STALE.format(what=f"已是“{ticket.get_status_display()}”")]})
    try:
        note = inputs.text(note or "", "说明", max_length=200)
    except ValueError as exc:
        raise ValidationError({"note": [str(exc)]}) from None
    return _event(ticket, "not_home", user, channel, now, "上门未遇" + (f"：{note}" if note else ""), lat, lon)


@transaction.atomic
def resolve(ticket: Ticket, user, *, cause: str, resolution: str = "", parts: str = "", version=None,
            channel=Channel.UI, now=None) -> Ticket:
    """Fixed (修复), with a cause code; closes the household's outage. Two phones at once: the first
    wins, the second is told the ticket was already resolved."""
    _require_worker(user, ticket)
    now = now or timezone.now()
    errors = {}
    cause_row = CauseCode.objects.filter(code=inputs.normalise_text(cause or ""), active=True).first()
    if cause_row is None:
        errors["cause"] = ["请选择故障原因"]
    try:
        resolution = inputs.text(resolution or "", "处理情况", max_length=300)
        parts = inputs.text(parts or "", "更换配件", max_length=200)
    except ValueError as exc:
        errors["resolution"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    ticket = _locked(ticket, version)
    if not ticket.is_open:
        raise ValidationError({"status": [STALE.format(
            what=f"已于{timezone.localtime(ticket.resolved_at or now):%m-%d %H:%M}标记“{ticket.get_status_display()}”")]})
    fields = ["status", "resolved_at", "resolved_by", "cause", "resolution", "parts"]
    for stage in ("responded_at", "arrived_at"):
        if getattr(ticket, stage) is None:
            setattr(ticket, stage, now)
            fields.append(stage)
    ticket.status, ticket.resolved_at, ticket.resolved_by = Status.RESOLVED, now, user
    ticket.cause, ticket.resolution, ticket.parts = cause_row, resolution, parts
    ticket.repair_minutes = int((now - ticket.opened_at).total_seconds() // 60)
    ticket.sla_status, ticket.breached_at, level = evaluate(ticket, now)  # final: met or breached
    ticket.escalation = max(ticket.escalation, level)
    _save(ticket, [*fields, "repair_minutes", "sla_status", "breached_at", "escalation"])
    _event(ticket, "resolved", user, channel, now, f"{cause_row}" + (f"；{resolution}" if resolution else "")
           + (f"；更换：{parts}" if parts else ""))
    if ticket.outage_id:
        ledger.resolve_outage(ticket.outage, resolved_on=timezone.localdate(now), user=user, channel=channel)
    outbox.resolved(ticket)
    return ticket


@transaction.atomic
def callback(ticket: Ticket, user, *, satisfied: bool, note: str = "", channel=Channel.UI, now=None) -> Ticket:
    """The hotline's call back (or the family's SMS reply): satisfied closes the ticket; not satisfied
    reopens it with fresh deadlines (and reopens its outage)."""
    require_perm(user, roles.SERVICE_CALLBACK)
    require_in_scope(user, ticket.village_code)
    return record_callback(ticket, satisfied=satisfied, note=note, user=user, channel=channel, now=now)


def sms_reply(user, phone: str, text: str, *, now=None) -> Ticket:
    """The family's SMS reply to "resolved": satisfied closes, not satisfied reopens the latest resolved
    ticket of that number in the user's scope (the SMS gateway's user). Reply words are data."""
    require_perm(user, roles.SERVICE_CALLBACK)
    try:
        phone = identity.normalise_mobile(phone)
    except ValueError as exc:
        raise ValidationError({"phone": [str(exc)]}) from None
    words = read_config()["sms_replies"]
    reply = inputs.normalise_text(text or "").strip("。.! ！")
    if reply in words["unsatisfied"] or any(w in reply for w in words["unsatisfied_contains"]):
        satisfied = False
    elif reply in words["satisfied"]:
        satisfied = True
    else:
        raise ValidationError({"text": [f"无法识别的回复“{inputs.shown(reply)}”：请回复“满意”或“不满意”"]})
    key = pii.blind_index(phone, "phone")
    ticket = queries.visible_tickets(user).filter(Q(household__phone_hash=key) | Q(caller_phone_hash=key),
                                          status=Status.RESOLVED).order_by("-resolved_at").first()
    if ticket is None:
        raise ValidationError({"phone": ["该号码没有待回访的工单"]})
    return record_callback(ticket, satisfied=satisfied, note=f"短信回复：{reply}", user=user, channel=Channel.API,
                           now=now)


def record_callback(ticket: Ticket, *, satisfied: bool, note: str = "", user=None, channel=Channel.UI,
                    now=None) -> Ticket:
    now = now or timezone.now()
    try:
        note = inputs.text(note or "", "回访说明", max_length=200)
    except ValueError as exc:
        raise ValidationError({"note": [str(exc)]}) from None
    with transaction.atomic():
        ticket = _locked(ticket, None)
        if ticket.status != Status.RESOLVED:
            raise ValidationError({"status": [f"只有“已修复待回访”的工单可以回访（当前：{ticket.get_status_display()}）"]})
        ticket.satisfied = satisfied
        _event(ticket, "callback", user, channel, now, ("满意" if satisfied else "不满意") + (f"：{note}" if note else ""))
        if satisfied:
            ticket.status, ticket.closed_at = Status.CLOSED, now
            _save(ticket, ["status", "closed_at", "satisfied"])
            _event(ticket, "closed", user, channel, now)
            return ticket
        ticket.status, ticket.reopened = Status.OPEN, ticket.reopened + 1
        ticket.responded_at = ticket.arrived_at = ticket.resolved_at = ticket.resolved_by = ticket.cause = None
        ticket.repair_minutes = None
        ticket.arrived_lat = ticket.arrived_lon = None
        ticket.sla_status, ticket.breached_at = SlaStatus.ON_TRACK, None
        apply_target(ticket, now)
        _save(ticket, ["status", "reopened", "responded_at", "arrived_at", "resolved_at", "resolved_by", "cause",
                       "arrived_lat", "arrived_lon", "sla_status", "breached_at", "clock_start", "repair_minutes", "due_respond",
                       "due_onsite", "due_fix", "satisfied"])
        _event(ticket, "reopened", user, channel, now, "回访不满意，工单重开")
        if ticket.outage_id:
            ledger.reopen_outage(ticket.outage, user=user, channel=channel)
        return ticket



PHOTO_DIR = "tickets"


def photo_storage() -> FileSystemStorage:
    """Where repair photos are kept (under DATA_DIR, never under a public URL)."""
    return FileSystemStorage(location=Path(settings.DATA_DIR) / PHOTO_DIR)


def add_photo(ticket: Ticket, user, *, stage: str, uploaded, channel=Channel.UI, now=None) -> TicketPhoto:
    """A before/after photo: refused when not an image or larger than the limit; resized and stored, its
    EXIF time and position kept."""
    _require_worker(user, ticket)
    now = now or timezone.now()
    if stage not in dict(TicketPhoto.STAGES):
        raise ValidationError({"stage": ["请选择维修前或维修后"]})
    if uploaded is None:
        raise ValidationError({"photo": ["请选择照片"]})
    name = Path(uploaded.name or "photo").name[:120]
    limit = settings.CLEANHEAT_TICKET_PHOTO_MAX_BYTES
    if uploaded.size > limit:
        size = f"{uploaded.size / 1048576:.1f} MB"
        raise ValidationError({"photo": [f"照片“{name}”过大（{size}），每张不超过{limit / 1048576:.0f} MB"]})
    try:
        photo = photos.process(uploaded.read(), settings.CLEANHEAT_TICKET_PHOTO_MAX_SIDE)
    except photos.NotAnImage as exc:
        raise ValidationError({"photo": [f"照片“{name}”：{exc}"]}) from None
    with transaction.atomic():
        ticket = _locked(ticket, None)
        stored = photo_storage().save(f"{ticket.village_code}/{ticket.pk}-{stage}.jpg", ContentFile(photo.data))
        taken = timezone.make_aware(photo.taken_at) if photo.taken_at else None
        found = TicketPhoto.objects.create(
            ticket=ticket, stage=stage, stored_name=stored, original_name=name, size=len(photo.data),
            width=photo.width, height=photo.height, taken_at=taken,
            lat=None if photo.lat is None else Decimal(f"{photo.lat:.6f}"),
            lon=None if photo.lon is None else Decimal(f"{photo.lon:.6f}"), uploaded_by=user)
        _event(ticket, "photo", user, channel, now, f"{found.get_stage_display()}照片“{name}”"
               + (f"，拍摄于{taken:%Y-%m-%d %H:%M}" if taken else "") + ("，有定位" if photo.lat is not None else ""),
               found.lat, found.lon)
    return found


# ---- SLA sweep and escalation -------------------------------------------------------------------

def evaluate(ticket: Ticket, now: datetime) -> tuple[str, datetime | None, int]:
    """(SLA status, first breach, escalation level) of one ticket at `now`."""
    due, done = ticket.due(), ticket.done()
    status = sla.status(now, ticket.clock_start, due, done, float(ticket.at_risk_fraction))
    first = sla.breached_at(now, due, done)
    level = sla.escalation_level(now, first, [(sla.LEVEL_COUNTY, ticket.escalate_county_minutes),
                                              (sla.LEVEL_CITY, ticket.escalate_city_minutes)])
    return status, first, level


LEVELS = {1: "县级清洁取暖办", 2: "市清洁取暖办"}


def sweep(now: datetime | None = None) -> dict:
    """Statuses and escalations of every open ticket at `now` (the management command runs it every few
    minutes). Only changed tickets are written; each escalation is a ticket event, and each ticket
    newly at risk queues one SMS to its team."""
    now = now or timezone.now()
    fields = ("pk", "clock_start", "due_respond", "due_onsite", "due_fix", "responded_at", "arrived_at",
              "resolved_at", "at_risk_fraction", "escalate_county_minutes", "escalate_city_minutes", "sla_status",
              "breached_at", "escalation")
    changed, escalated, at_risk = [], [], []
    rows = Ticket.objects.filter(status__in=OPEN_STATUSES).order_by().values_list(*fields)  # no sort: its index
    for row in rows.iterator(chunk_size=5000):
        pk, start, d_r, d_o, d_f, r, a, f, frac, esc_c, esc_city, old_status, old_breach, old_level = row
        due, done = {"respond": d_r, "onsite": d_o, "fix": d_f}, {"respond": r, "onsite": a, "fix": f}
        status = sla.status(now, start, due, done, float(frac))
        first = sla.breached_at(now, due, done)
        level = max(old_level, sla.escalation_level(now, first, [(1, esc_c), (2, esc_city)]))
        if (status, first, level) != (old_status, old_breach, old_level):
            changed.append(Ticket(pk=pk, sla_status=status, breached_at=first, escalation=level))
            if level > old_level:
                escalated.append((pk, level))
            if status == SlaStatus.AT_RISK and old_status == SlaStatus.ON_TRACK:
                at_risk.append(pk)
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Ticket._meta.db_table)
    with transaction.atomic():
        with connection.cursor() as cursor:  # one prepared statement (bulk_update's CASE is far slower)
            stamp = adapt(timezone.now())
            cursor.executemany(f"UPDATE {table} SET sla_status = %s, breached_at = %s, escalation = %s, "
                               f"changed_at = %s WHERE id = %s",
                               [(t.sla_status, adapt(t.breached_at), t.escalation, stamp, t.pk) for t in changed])
        TicketEvent.objects.bulk_create([TicketEvent(ticket_id=pk, kind="escalated", at=now, channel=Channel.SYSTEM,
                                                     note=f"超时升级至{LEVELS[level]}") for pk, level in escalated],
                                        batch_size=2000)
        outbox.at_risk(at_risk, now)
        outbox.escalated(escalated, now)
    return {"checked_changed": len(changed), "escalated": len(escalated), "at_risk": len(at_risk)}


def call_family(ticket: Ticket, user, *, request=None) -> str:
    """The family's full number to call, for a user allowed to reveal phones: always audited."""
    require_perm(user, roles.REVEAL_PHONE)
    require_in_scope(user, ticket.village_code)
    reason = f"热线工单{ticket.number}联系住户"
    if ticket.household_id and ticket.household.phone_cipher:
        return ledger.reveal(ticket.household, "phone", user=user, reason=reason, request=request)
    if not ticket.caller_phone_cipher:
        raise ValidationError({"phone": ["该工单没有联系电话"]})
    record("pii_reveal", request=request, user=user, region_code=ticket.village_code, target=ticket.number,
           detail=f"来电号码；事由：{reason}")
    return pii.decrypt(ticket.caller_phone_cipher)
