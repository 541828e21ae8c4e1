"""Demo data of the hotline: repair teams for every vendor with a county contract, the grid / gas / heat
companies and each county office; a hotline operator; and a winter of tickets (the 2022–23 season after
the 2022 conversions, plus tickets open now) with a realistic mix: categories, a few breached deadlines,
long outages that void a stable season, households with repeated faults, callbacks. Written in bulk (a
system seed, as the ledger's demo is); timings go through the same SLA module as live tickets."""
import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cleanheat import bulk
from cleanheat.accounts.models import Organisation, User
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household, MaintenanceRecord
from cleanheat.procurement.models import Allocation, CountyContract
from cleanheat.regions.models import Region

from . import services
from .models import (
    Category,
    CauseCode,
    RepairTeam,
    Source,
    Status,
    Ticket,
    TicketEvent,
)

SEASON = (date(2022, 11, 3), date(2023, 3, 27))
CATEGORY_MIX = [(Category.NO_HEAT, 30), (Category.DEVICE, 30), (Category.POWER, 8), (Category.GAS, 4),
                (Category.SUBSIDY, 12), (Category.COMPLAINT, 6), (Category.CONSULT, 10)]
SEVERITY_MIX = [("urgent", 20), ("normal", 65), ("low", 15)]
TICKETS_AT_FULL_SCALE = 3000
UTILITIES = {"grid": "国网忻州供电公司", "gas": "示例燃气有限公司（演示）", "heat": "示例热力有限公司（演示）"}
CAUSES = {Category.NO_HEAT: ["E01", "E03", "E05", "S03"], Category.DEVICE: ["E01", "E02", "E03", "E04", "E06", "E07"],
          Category.POWER: ["S01", "E04"], Category.GAS: ["S02"], Category.SUBSIDY: ["Q01"],
          Category.COMPLAINT: ["Q02"], Category.CONSULT: ["Q01"]}


def _phone(rng) -> str:
    return f"139{rng.randrange(10**8):08d}"


@transaction.atomic
def load_teams(seed: int = 17) -> int:
    """A repair team per vendor and county with a contract there, a city-wide team of each utility, and
    each county office's team. Idempotent."""
    rng = random.Random(seed)
    made = 0
    for vendor, county in sorted(set(CountyContract.objects.values_list("vendor", "county_code"))):
        org, _ = Organisation.objects.get_or_create(name=vendor, defaults={"kind": "vendor", "region_code": "1409"})
        county_name = Region.objects.filter(code=county.ljust(12, "0")).values_list("name", flat=True).first() or county
        _, created = RepairTeam.objects.get_or_create(organisation=org, region_code=county, defaults={
            "name": f"{vendor.removesuffix('（演示）')}{county_name}维修专班", "phone": _phone(rng)})
        made += created
    for name in UTILITIES.values():
        org = Organisation.objects.filter(name=name).first()
        if org:
            _, created = RepairTeam.objects.get_or_create(organisation=org, region_code="1409", defaults={
                "name": f"{name.removesuffix('（演示）')}抢修班", "phone": _phone(rng)})
            made += created
    for org in Organisation.objects.filter(kind__in=["county_gov", "city_office"]):
        _, created = RepairTeam.objects.get_or_create(organisation=org, region_code=org.region_code, defaults={
            "name": f"{org.name.removesuffix('人民政府')}清洁取暖办" if org.kind == "county_gov" else org.name,
            "phone": _phone(rng)})
        made += created
    return made


def _demo_repair_user() -> None:
    """The demo's repair-team login works for the vendor with most equipment in its county."""
    user = User.objects.filter(username="vendor_repair").first()
    if user is None:
        return
    vendors = Counter(Allocation.objects.filter(released_at__isnull=True,
                                                household__village__code__startswith=user.region_scope)
                      .values_list("line__contract__vendor", flat=True))
    if vendors:
        user.organisation = Organisation.objects.get(name=vendors.most_common(1)[0][0], kind="vendor")
        user.save(update_fields=["organisation"])


def _aware(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(settings.TIME_ZONE)) + timedelta(minutes=minute)


def _pick(rng, mix):
    return rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]


@transaction.atomic
def load_demo_service(scale: float = 1.0, seed: int = 17, now: datetime | None = None) -> dict:
    services.load_config()
    load_teams(seed)
    _demo_repair_user()
    if Ticket.objects.exists():
        return {"tickets": Ticket.objects.count()}
    return {"tickets": generate_tickets(max(80, int(TICKETS_AT_FULL_SCALE * scale)), random.Random(seed),
                                          now or timezone.now())}


def generate_tickets(count: int, rng: random.Random, now: datetime, *, events: bool = True) -> int:
    """`count` tickets over the 2022 households in use (bulk, for the demo and the benchmark)."""
    spec, rows = services.read_config(), services.sla_rows()
    homes = list(Household.objects.filter(archived=False, plan_year=2022,
                                          state__in=["installed", "accepted", "proven", "removed"])
                 .values_list("pk", "village_id", "heating_path", "phone_cipher", "phone_masked"))
    if not homes:
        return 0
    vendor_of = dict(Allocation.objects.filter(released_at__isnull=True).values_list("household_id",
                                                                                     "line__contract__vendor"))
    teams = list(RepairTeam.objects.select_related("organisation"))
    causes = {c.code: c for c in CauseCode.objects.all()}
    repeated = rng.sample(homes, max(2, len(homes) // 300))
    plan = [*(h for h in repeated for _ in range(3)), *(rng.choice(homes) for _ in range(count - 3 * len(repeated)))]
    season_days = (SEASON[1] - SEASON[0]).days
    tickets, outages = [], {}
    for i, (pk, village, path, cipher, masked) in enumerate(plan):
        repeat = i < 3 * len(repeated)  # three faults in the season: flagged for inspection
        live = i % 25 == 0 and not repeat  # one in 25 is open now
        category = rng.choice([Category.NO_HEAT, Category.DEVICE]) if repeat else _pick(rng, CATEGORY_MIX)
        severity = _pick(rng, SEVERITY_MIX)
        if (category, severity, False) not in rows:
            severity = "normal"
        route = _route(spec, category, village, path, vendor_of.get(pk), teams)
        opened = now - timedelta(minutes=rng.randrange(10, 3 * 1440)) if live else \
            _aware(SEASON[0] + timedelta(days=rng.randrange(season_days)), rng.randrange(420, 1260))
        ticket = Ticket(household_id=pk, village_code=village, caller_phone_cipher=cipher, caller_phone_masked=masked,
                        category=category, severity=severity, source=_pick(rng, [(Source.HOTLINE, 70),
                                                                                (Source.VILLAGE, 15),
                                                                                (Source.MONITOR, 10),
                                                                                (Source.UTILITY, 5)]),
                        channel=Channel.SYSTEM, description=f"{Category(category).label}（演示数据）",
                        team=route.team, route_note=route.note, opened_at=opened, number=f"demo-{i}")
        services.apply_target(ticket, opened, rows)
        _progress(ticket, rng, now, live, causes)
        if category == Category.NO_HEAT:
            outages[len(tickets)] = MaintenanceRecord(
                household_id=pk, reported_on=timezone.localdate(opened),
                resolved_on=timezone.localdate(ticket.resolved_at) if ticket.resolved_at else None,
                description=f"热线工单：{Category(category).label}（演示数据）", is_outage=True)
        status, first, level = services.evaluate(ticket, now)
        ticket.sla_status, ticket.breached_at, ticket.escalation = status, first, level if ticket.is_open else \
            (level if first else 0)
        tickets.append(ticket)
    bulk.insert(MaintenanceRecord, list(outages.values()))
    for index, outage in outages.items():
        tickets[index].outage = outage
    bulk.insert(Ticket, tickets)
    for ticket in tickets:
        ticket.number = services.ticket_number(ticket.pk, ticket.opened_at)
    Ticket.objects.bulk_update(tickets, ["number"], batch_size=2000)
    if events:
        bulk.insert(TicketEvent, [e for t in tickets for e in _events(t)])
    return len(tickets)


def _route(spec, category, village, path, vendor, teams):
    kind = spec["routes"][category]
    if kind == "vendor":
        if vendor:
            found = [t for t in teams if t.organisation.kind == "vendor" and t.organisation.name == vendor
                     and village.startswith(t.region_code)]
            if found:
                return services.Route(found[0], f"按设备分配：{vendor}")
        kind = spec["no_heat_without_equipment"].get(path, "county_gov")
        kind = "county_gov" if kind == "vendor" else kind
    found = sorted((t for t in teams if t.organisation.kind == kind and village.startswith(t.region_code)),
                   key=lambda t: -len(t.region_code))
    return services.Route(found[0] if found else None, "按类别派单")


def _progress(ticket: Ticket, rng: random.Random, now: datetime, live: bool, causes: dict) -> None:
    """How far the ticket got and how fast: most on time, about one in eight late, some long outages."""
    late = rng.random() < 0.12
    spans = [(ticket.due_respond - ticket.clock_start), (ticket.due_onsite - ticket.clock_start),
             (ticket.due_fix - ticket.clock_start)]
    factor = rng.uniform(1.05, 3.0) if late else rng.uniform(0.2, 0.9)
    times = [ticket.clock_start + span * factor * rng.uniform(0.85, 1.0) for span in spans]
    times = [max(times[0], ticket.clock_start + timedelta(minutes=3)), *times[1:]]
    times[1], times[2] = max(times[1], times[0]), max(times[2], times[1] + timedelta(minutes=20))
    for stage, at in zip(("responded_at", "arrived_at", "resolved_at"), times):
        if live and at > now:
            break
        setattr(ticket, stage, at)
    ticket.status = Status.RESOLVED if ticket.resolved_at else Status.ON_SITE if ticket.arrived_at else \
        Status.ACCEPTED if ticket.responded_at else Status.OPEN
    if ticket.resolved_at:
        ticket.repair_minutes = int((ticket.resolved_at - ticket.opened_at).total_seconds() // 60)
        ticket.cause = causes[rng.choice(CAUSES[ticket.category])]
        ticket.resolution = "已处理（演示数据）"
        if not live or rng.random() < 0.5:
            ticket.satisfied = rng.random() < 0.9 - (0.3 if late else 0)
            ticket.status = Status.CLOSED if ticket.satisfied else Status.RESOLVED
            ticket.closed_at = ticket.resolved_at + timedelta(hours=rng.randrange(2, 48)) if ticket.satisfied else None
            if not ticket.satisfied:  # the callback found it unfixed: reopened, then fixed for good
                ticket.reopened, ticket.satisfied, ticket.status = 1, True, Status.CLOSED
                ticket.closed_at = ticket.resolved_at + timedelta(days=2)


def _events(ticket: Ticket):
    yield TicketEvent(ticket=ticket, kind="opened", at=ticket.opened_at, channel=Channel.SYSTEM,
                      note=f"{ticket.get_source_display()}：{ticket.description}")
    yield TicketEvent(ticket=ticket, kind="routed", at=ticket.opened_at, channel=Channel.SYSTEM,
                      note=f"{ticket.team or '未派单'}（{ticket.route_note}）")
    for kind, at in (("accepted", ticket.responded_at), ("arrived", ticket.arrived_at),
                     ("resolved", ticket.resolved_at)):
        if at:
            yield TicketEvent(ticket=ticket, kind=kind, at=at, channel=Channel.SYSTEM, note="演示数据")
    if ticket.closed_at:
        if ticket.reopened:
            yield TicketEvent(ticket=ticket, kind="reopened", at=ticket.resolved_at + timedelta(hours=3),
                              channel=Channel.SYSTEM, note="回访不满意，工单重开")
        yield TicketEvent(ticket=ticket, kind="callback", at=ticket.closed_at, channel=Channel.SYSTEM, note="满意")
        yield TicketEvent(ticket=ticket, kind="closed", at=ticket.closed_at, channel=Channel.SYSTEM)
