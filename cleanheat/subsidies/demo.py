"""Demo data of the subsidies module: Xinzhou's 2022 policy (示意数据) from the data file, one
season of meter readings for the converted households (derived from their computed seasonal heat
demand), the entitlements computed from them, notices (公示) for a few villages with one objection,
each county's funds and two paid batches of one county (load_demo_payments). Runs after the
procurement demo (allocations, sizing) and the demo users."""
import tempfile
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat import bulk
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import STATE_ORDER, Channel, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region

from . import bank_file, funds, notice, payments, services, terms
from .models import EnergyReading, Entitlement, Objection

ACCEPTED = STATE_ORDER.index(LifecycleState.ACCEPTED)
SPREAD_STEPS = 1000   # the deterministic spread of use per household: one of 1000 steps in ±spread


@transaction.atomic
def load_demo_subsidies(spec: dict | None = None) -> dict:
    spec = spec or services.read_policy_file()
    policy, _ = services.load_policy_spec(spec)
    readings = _demo_readings(spec["demo_readings"])
    stats = services.compute_entitlements(policy.year)
    stats["readings"] = readings
    _demo_funds(spec["demo_funds"], policy.year)  # first: approvals stay within a county's funds
    stats["notices"] = _demo_notices(policy.year)
    stats.update(load_demo_payments(spec, policy.year))
    return stats


def _demo_notices(year: int, villages: int = 3, township: str = "140902101", clerk_village: str = "140902101201") -> int:
    """Notices of a few villages of the demo township (the demo town clerk's) with computed lines:
    their lines approved (as county finance would), the first notices' periods over (payable), the
    last one's (the demo village clerk's village) still running with an objection open against its
    first line."""
    found_codes = list(Entitlement.objects.filter(year=year, village_code__startswith=township)
                       .values_list("village_code", flat=True).distinct().order_by("village_code"))
    codes_ = [c for c in found_codes if c != clerk_village][:villages - 1] + \
        [c for c in found_codes if c == clerk_village][:1]
    today = timezone.localdate()
    made = 0
    for i, code in enumerate(codes_):
        services.approve_entitlements(Entitlement.objects.filter(village_code=code, year=year))
        running = i == len(codes_) - 1
        starts = today - timedelta(days=2 if running else 30 + i)
        found = notice.write_notice(Region.objects.get(code=code), year, starts, notice.default_days())
        if found is not None:
            made += 1
            if running:
                Objection.objects.create(line=found.lines.order_by("position").first(), raised_by="本村村民（演示）",
                                         content="反映该户原取暖设施尚未拆除（演示数据）", received_on=today)
    return made


def _use(household_id: int, heat_kwh: float, factor: float, spread: float) -> Decimal:
    """Whole kWh and m³, GJ to one decimal (as meters show them)."""
    step = (household_id * 2654435761) % SPREAD_STEPS / SPREAD_STEPS   # 0 … 1, the same on every load
    use = heat_kwh * factor * (1 - spread + 2 * spread * step)
    return Decimal(str(round(use, 1 if factor < 0.01 else None)))


def _demo_readings(cfg: dict) -> int:
    rows = Household.objects.filter(archived=False, state__in=STATE_ORDER[ACCEPTED:],
                                    heating_path__in=list(cfg["units"]), energy_demand__isnull=False) \
        .values_list("pk", "heating_path", "electric_device", "energy_demand__seasonal_heat_kwh").order_by("pk")
    read_on = date.fromisoformat(cfg["read_on"])
    columns = {name: [] for name in ("household_id", "season", "unit", "opening", "closing", "read_on", "channel")}
    for pk, path, device, heat in rows:
        factor = cfg["per_heat_kwh"][path]
        if isinstance(factor, dict):
            factor = factor.get(device) or factor["default"]
        opening = Decimal(1000 + pk * 7919 % 9000)
        for name, value in (("household_id", pk), ("season", cfg["season"]), ("unit", cfg["units"][path]),
                            ("opening", opening), ("closing", opening + _use(pk, float(heat), factor, cfg["spread"])),
                            ("read_on", read_on), ("channel", Channel.SYSTEM.value)):
            columns[name].append(value)
    n = len(columns["household_id"])
    columns["recorded_at"] = [EnergyReading._meta.get_field("recorded_at").pre_save(EnergyReading(), True)] * n
    bulk.insert_columns(EnergyReading, columns)
    return n


def load_demo_payments(spec: dict, year: int) -> dict:
    """One county's finance approves a few households' lines (not yet on a notice), publishes them
    in notices whose period is over, and pays them in two batches through the bank file round trip:
    the first all paid, the second with failed lines (back in the queue, the bank's reason on the
    household page). Fast: a few dozen lines. The counties' funds are recorded before (_demo_funds)."""
    cfg = spec["demo_payments"]
    payer = get_user_model().objects.filter(username=cfg["payer"]).first()
    if payer is None:
        return {"batches": 0}
    households = list(Household.objects.filter(
        pk__in=Entitlement.objects.filter(village_code__startswith=cfg["county"], year=year,
                                          notice_lines__isnull=True).values("household_id"),
        archived=False, state__in=STATE_ORDER[ACCEPTED:]).order_by("pk")[:cfg["households"]])
    for household in households:
        card = f"{cfg['card_prefix']}{household.pk:013d}"
        ledger.update_household(household, {"bank_account": card}, channel=Channel.SYSTEM, source="演示数据")
    services.approve_entitlements(Entitlement.objects.filter(household__in=households, year=year))
    posted = timezone.localdate() - timedelta(days=30)  # the notice period is over: the lines may be paid
    for code in sorted({h.village_id for h in households}):
        notice.write_notice(Region.objects.get(code=code), year, posted, notice.default_days())
    half = len(households) // 2
    made = []
    for group, failed in ((households[:half], {}), (households[half:], cfg["failed"])):
        ids = list(Entitlement.objects.filter(household__in=group, year=year).values_list("pk", flat=True))
        if not ids:
            continue
        batch, _ = payments.create_batch(payer, cfg["county"], year, ids)
        payments.export_bank_file(payer, batch.pk)
        answer = bank_file.workbook(batch.number, "", payments.payees(batch),
                                    {int(row): ("失败", reason) for row, reason in failed.items()})
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as fh:
            fh.write(answer)
            fh.flush()
            payments.import_return(payer, batch.pk, fh.name, filename="演示回盘.xlsx")
        made.append(batch.number)
    return {"batches": len(made)}


def _demo_funds(cfg: dict, year: int) -> None:
    shares = (Entitlement.objects.filter(year=year).annotate(code=Substr("village_code", 1, 6)).values("code")
              .annotate(**{level: Sum(f"{level}_fen") for level in terms.LEVELS}).order_by("code"))
    received_on = date.fromisoformat(cfg["received_on"])
    for row in shares:
        for level in terms.LEVELS:
            if row[level]:
                source, document = cfg["sources"][level]
                funds.record_fund({"county": row["code"], "year": year, "level": level, "source": source,
                                   "document_no": document, "received_on": received_on, "amount_fen": row[level]},
                                  user=None)
