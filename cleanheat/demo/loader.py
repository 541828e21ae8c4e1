"""Writes the synthetic demo into the database in bulk, in one transaction.

The demo is a system seed: it bypasses the per-row service calls for speed (212,549 rows),
but writes the same encrypted columns, lifecycle events and a creation history line per household.
"""
import json
from collections import defaultdict
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from cleanheat import bulk, pii
from cleanheat.accounts.models import Organisation
from cleanheat.demo.places import load_demo_coordinates
from cleanheat.inspections.demo import load_demo_inspections, load_demo_round
from cleanheat.ledger import asof, demo, identity
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household, HouseholdChange, HouseholdNumberSequence, LifecycleEvent
from cleanheat.plan.services import load_plan
from cleanheat.procurement.demo import load_demo_procurement
from cleanheat.regions.codes import VILLAGE
from cleanheat.regions.loader import load_city, read_city
from cleanheat.rules.loader import demo_breaches, demo_gas_contracts, demo_heat_sources, load_rules, read_rules
from cleanheat.service.demo import load_demo_service
from cleanheat.subsidies.demo import load_demo_subsidies

DATA_DIR = Path(__file__).resolve().parent / "data"
DATA = DATA_DIR / "xinzhou-2022-demo.json"
BATCH = 5000


def read_config(path: Path = DATA) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _aware(day):
    return datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _household(rec: dict, number: str, sources: dict) -> Household:
    phone = rec["phone"]
    central, biomass = sources.get(rec["county"], (None, None))
    installed = rec["state"] in ("installed", "accepted", "proven", "removed")
    source = central if rec["heating_path"] == "central" else biomass if rec["heating_path"] == "biomass" else None
    return Household(
        heat_source_id=source if installed else None,
        removal_consent_on=rec["steps"][-1][1] if rec["state"] == "removed" else None,
        household_no=number, village_id=rec["village"], householder_name=rec["householder_name"],
        id_number_cipher=pii.encrypt(rec["id_number"]),
        id_number_hash=pii.blind_index(rec["id_number"], "id"),
        id_number_masked=identity.mask_id_number(rec["id_number"]),
        phone_cipher=pii.encrypt(phone), phone_hash=pii.blind_index(phone, "phone"),
        phone_masked=identity.mask_mobile(phone) if phone else "",
        address=rec["address"], household_size=rec["household_size"],
        is_dibao=rec["is_dibao"], is_tekun=rec["is_tekun"], is_tuopin=rec["is_tuopin"],
        is_canji=rec["is_canji"], heated_area=Decimal(str(rec["heated_area"])),
        structure=rec["structure"], envelope_retrofitted=rec["envelope_retrofitted"],
        envelope_gain_pct=rec["envelope_gain_pct"],
        original_facility=rec["original_facility"], heating_path=rec["heating_path"],
        electric_device=rec["electric_device"], state=rec["state"],
        state_changed_at=_aware(rec["steps"][-1][1]), plan_year=rec["plan_year"],
    )


def _flush(batch):
    households = [h for h, _ in batch]
    bulk.insert(Household, households)
    events, changes = [], []
    for household, (_, rec) in zip(households, batch):
        previous = ""
        for state, day in rec["steps"]:
            events.append(LifecycleEvent(household=household, from_state=previous, to_state=state,
                                         occurred_on=day, channel=Channel.SYSTEM,
                                         reason="演示数据" if previous else "建档（演示数据）"))
            previous = state
        changes.append(HouseholdChange(household=household, channel=Channel.SYSTEM,
                                       source="演示数据", field="created",
                                       new_value=household.household_no))
    bulk.insert(LifecycleEvent, events)
    bulk.insert(HouseholdChange, changes)


def later_configs(cfg: dict) -> list[dict]:
    """The configs of the demo's later years (invented plans, see the data files)."""
    return [demo.year_config(cfg, later, read_config(DATA_DIR / later["plan"])) for later in cfg.get("later_years", [])]


def demo_households(cfg: dict, villages: dict, scale: float = 1.0):
    """The first year's households, then each later year's (no ID number given twice)."""
    used_ids: set = set()
    yield from demo.generate_households(cfg, villages, scale, used_ids)
    for year_cfg in later_configs(cfg):
        yield from demo.generate_households(year_cfg, villages, scale, used_ids)


def expected_households(cfg: dict, scale: float = 1.0) -> int:
    """How many households the demo writes (all its years)."""
    return sum(sum(p.values()) for c in [cfg, *later_configs(cfg)] for p in demo.county_path_counts(c, scale).values())


def load_demo_regions(cfg: dict) -> dict:
    """The real regions of the demo's city (vendored statistical codes) and the demo's weight of
    each of the data file's villages: {county: {village code: weight}}."""
    city = cfg["city"][:4]
    load_city(city, apply_changes=True)
    rows = sorted((r["code"], r["kind"]) for r in read_city(city) if r["level"] == VILLAGE)
    return demo.village_weights(cfg, rows)


def ensure_demo_users(cfg: dict) -> list[dict]:
    """Organisations and one demo user per role, with sensible scopes (idempotent)."""
    for spec in cfg["organisations"]:
        Organisation.objects.update_or_create(name=spec["name"], defaults=spec)
    User = get_user_model()
    for spec in cfg["demo_users"]:
        if User.objects.filter(username=spec["username"]).exists():
            continue
        user = User(username=spec["username"], full_name=spec["full_name"], role=spec["role"],
                    region_scope=spec["region_scope"], must_change_password=False,
                    organisation=Organisation.objects.get(name=spec["organisation"]))
        user.set_password(spec["password"])
        user.save()
    return cfg["demo_users"]


@transaction.atomic
def load_demo(cfg: dict, scale: float = 1.0, progress=None) -> int:
    """Load regions, households and demo users; returns households written."""
    rules = read_rules()
    load_rules(rules)
    villages = load_demo_regions(cfg)
    load_demo_coordinates()
    sources = demo_heat_sources(list(cfg["counties"]))
    serial, batch, written = defaultdict(int), [], 0
    for rec in demo_households(cfg, villages, scale):
        serial[rec["county"]] += 1
        batch.append((_household(rec, f"{rec['county']}{serial[rec['county']]:07d}", sources), rec))
        if len(batch) == BATCH:
            _flush(batch)
            written += len(batch)
            batch = []
            if progress:
                progress(BATCH)
    if batch:
        _flush(batch)
        written += len(batch)
        if progress:
            progress(len(batch))
    HouseholdNumberSequence.objects.bulk_create(
        [HouseholdNumberSequence(county_code=c, last=n) for c, n in serial.items()])
    ensure_demo_users(cfg)
    demo_gas_contracts(rules)
    demo_breaches()
    load_plan()
    for later in cfg.get("later_years", []):
        load_plan(DATA_DIR / later["plan"])
    load_demo_procurement()
    load_demo_subsidies()
    load_demo_inspections()
    load_demo_round()
    load_demo_service(scale)
    asof.rebuild()  # the as-of-a-day counts of the households just written in bulk
    analyze()
    return written


def analyze():
    """Fresh planner statistics after a bulk load, so list pages use their indexes."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
