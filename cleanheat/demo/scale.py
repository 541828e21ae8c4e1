"""A province-size synthetic ledger for the scale benchmarks (docs/scale.md): N copies of the
Xinzhou demo's shape, each a synthetic city of a synthetic province (code 99), written with COPY.

Each copy is the demo generator's output (cleanheat.ledger.demo, a seed of its own) with every
code moved under the copy's city prefix (1409 → 99cc): villages, townships and counties keep their
last digits, ID numbers their birth date and serial (address code replaced, checksum recomputed),
so numbers never repeat across copies. ID numbers and phones are encrypted and blind-indexed as
the ledger does (cleanheat.pii). PostgreSQL only: the bulk path drops the three big tables'
secondary indexes during the load and builds them once at the end, and turns foreign-key
triggers off for the loading session (every reference written was created by this load).
"""
import csv
import json
import tempfile
from collections import Counter
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from cleanheat import pii
from cleanheat.accounts.models import Organisation
from cleanheat.demo.loader import DATA_DIR, demo_households, expected_households, load_demo, read_config
from cleanheat.ledger import asof, counts, demo, identity
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.models import Household, HouseholdChange, HouseholdNumberSequence, LifecycleEvent
from cleanheat.plan.services import load_plan
from cleanheat.regions.codes import VILLAGE
from cleanheat.regions.loader import load_city, read_city
from cleanheat.regions.models import Region
from cleanheat.rules.loader import demo_heat_sources

PROVINCE = "99"                      # no real province has this code
PROVINCE_NAME = "演示省（虚构）"
SOURCE_CITY = "1409"                 # the demo city every copy is shaped after
INSTALLED_STATES = ("installed", "accepted", "proven", "removed")
BATCH = 20000                        # households per COPY chunk
SEED_STEP = 7919                     # seeds of copy i: the demo's + i × this
BIG_TABLES = [Household, LifecycleEvent, HouseholdChange]
PASSWORD = "Scale@2022"
HOUSEHOLD_COLUMNS = [
    "id", "household_no", "village_id", "householder_name", "id_number_cipher", "id_number_hash",
    "id_number_masked", "phone_cipher", "phone_hash", "phone_masked", "bank_account_cipher", "bank_account_hash",
    "bank_account_masked", "electricity_account_cipher", "electricity_account_hash", "electricity_account_masked",
    "gas_account_cipher", "gas_account_hash", "gas_account_masked", "address", "household_size", "is_dibao",
    "is_tekun", "is_tuopin", "is_canji", "heated_area", "structure", "envelope_retrofitted", "envelope_gain_pct",
    "original_facility", "heating_path", "electric_device", "heat_source_id", "removal_consent_on", "state",
    "state_changed_at", "plan_year", "archived", "archived_at", "archive_reason", "created_at", "updated_at",
    "version"]
EVENT_COLUMNS = ["id", "household_id", "from_state", "to_state", "occurred_on", "recorded_at", "user_id",
                 "channel", "reason", "is_backstep"]
CHANGE_COLUMNS = ["id", "household_id", "changed_at", "user_id", "channel", "source", "field", "old_value",
                  "new_value", "version"]


def city_prefix(index: int) -> str:
    """The 4-digit prefix of copy `index` (0-based): 9901, 9902 …"""
    return f"{PROVINCE}{index + 1:02d}"


def moved(code: str, prefix: str) -> str:
    """A Xinzhou code (any length ≥ 4) moved under a copy's city prefix."""
    return prefix + code[4:]


def moved_id_number(number: str, prefix: str) -> str:
    first17 = moved(number[:6], prefix) + number[6:17]
    return first17 + identity.id_check_char(first17)


def city_count_done() -> int:
    """Copies already in the database (a rerun adds the missing ones)."""
    return Region.all_objects.filter(code__startswith=PROVINCE, level=1).count()


def expected(cities: int, scale: float) -> int:
    return cities * expected_households(read_config(), scale)


# ---- regions, plans, users of one copy (small: through the apps' own loaders)

def load_copy_regions(prefix: str, index: int) -> dict:
    """Write the copy's regions (a synthetic city file through regions.loader) and return the
    demo's village weights under the copy's codes: {county: {village: weight}}."""
    rows = read_city(SOURCE_CITY)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{prefix}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["code", "name", "short_name", "kind"])
            out.writerow([f"{PROVINCE}0000000000", PROVINCE_NAME, "", "省"])
            for r in rows:
                if r["level"] == 0:
                    continue
                name = f"{r['name']}{index + 1}" if r["level"] <= 2 else r["name"]  # cities/counties told apart
                out.writerow([moved(r["code"], prefix), name, r["short_name"], r["kind"]])
        load_city(prefix, Path(tmp), apply_changes=True)


def load_copy_plans(cfg: dict, prefix: str) -> None:
    """The demo's plans (2022 and the invented 2023) with the copy's county codes."""
    plans = [Path(settings.BASE_DIR) / "cleanheat" / "plan" / "data" / "xinzhou-2022-plan.json"]
    plans += [DATA_DIR / later["plan"] for later in cfg.get("later_years", [])]
    with tempfile.TemporaryDirectory() as tmp:
        for source in plans:
            spec = json.loads(source.read_text(encoding="utf-8"))
            spec["city_code"] = moved(spec["city_code"], prefix)
            spec["counties"] = {moved(c, prefix): v for c, v in spec["counties"].items()}
            spec["map_script"] = ""
            target = Path(tmp) / source.name
            target.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
            load_plan(target)


def ensure_scale_users(prefix: str) -> None:
    """A city administrator and a county clerk for copy 1 (the benchmark's users), and a
    province-wide administrator."""
    User = get_user_model()
    org, _ = Organisation.objects.get_or_create(name=f"{PROVINCE_NAME}清洁取暖办（虚构）",
                                                defaults={"kind": "city_office", "region_code": PROVINCE})
    for username, role, scope in [("scale_province", "city_admin", PROVINCE),
                                  ("scale_city", "city_admin", prefix),
                                  ("scale_clerk", "county_clerk", prefix + "02")]:
        if not User.objects.filter(username=username).exists():
            user = User(username=username, full_name=username, role=role, region_scope=scope,
                        must_change_password=False, organisation=org)
            user.set_password(PASSWORD)
            user.save()


# ---- the households of one copy, as COPY rows

def copy_config(cfg: dict, index: int) -> dict:
    later = [{**spec, "seed": spec["seed"] + SEED_STEP * index} for spec in cfg.get("later_years", [])]
    return {**cfg, "seed": cfg["seed"] + SEED_STEP * index, "later_years": later}


def _aware(day):
    return datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def household_chunks(cfg, villages, scale, prefix, next_ids, serial, now, sources):
    """Yield (household rows, event rows, change rows) per BATCH households of one copy."""
    records = []
    for rec in demo_households(cfg, villages, scale):
        records.append(rec)
        if len(records) == BATCH:
            yield _rows(records, prefix, next_ids, serial, now, sources)
            records = []
    if records:
        yield _rows(records, prefix, next_ids, serial, now, sources)


def _rows(records, prefix, next_ids, serial, now, sources):
    ids = [moved_id_number(r["id_number"], prefix) for r in records]
    phones = [r["phone"] for r in records]
    id_ciphers, phone_ciphers = pii.encrypt_many(ids), pii.encrypt_many(phones)
    id_hashes, phone_hashes = pii.blind_index_many(ids, "id"), pii.blind_index_many(phones, "phone")
    households, events, changes = [], [], []
    for k, rec in enumerate(records):
        county = moved(rec["county"], prefix)
        serial[county] += 1
        number = f"{county}{serial[county]:07d}"
        pk = next_ids["hh"] = next_ids["hh"] + 1
        steps = rec["steps"]
        central, biomass = sources[county]
        source = None  # as the demo: a heat source once installed, for central and biomass heating
        if rec["state"] in INSTALLED_STATES:
            source = central if rec["heating_path"] == "central" else biomass if rec["heating_path"] == "biomass" else None
        households.append((
            pk, number, moved(rec["village"], prefix), rec["householder_name"], id_ciphers[k], id_hashes[k],
            identity.mask_id_number(ids[k]), phone_ciphers[k], phone_hashes[k],
            identity.mask_mobile(phones[k]) if phones[k] else "", "", "", "", "", "", "", "", "", "",
            rec["address"], rec["household_size"], rec["is_dibao"], rec["is_tekun"], rec["is_tuopin"],
            rec["is_canji"], rec["heated_area"], rec["structure"], rec["envelope_retrofitted"],
            rec["envelope_gain_pct"], rec["original_facility"], rec["heating_path"], rec["electric_device"],
            source, steps[-1][1] if rec["state"] == "removed" else None, rec["state"], _aware(steps[-1][1]),
            rec["plan_year"], False, None, "", now, now, 1))
        previous = ""
        for state, day in steps:
            next_ids["ev"] += 1
            events.append((next_ids["ev"], pk, previous, state, day, now, None, Channel.SYSTEM,
                           "演示数据" if previous else "建档（演示数据）", False))
            previous = state
        next_ids["ch"] += 1
        changes.append((next_ids["ch"], pk, now, None, Channel.SYSTEM, "演示数据", "created", "", number, None))
    return households, events, changes


def _copy(cur, model, columns, rows) -> None:
    column_of = {f.attname: f.column for f in model._meta.concrete_fields}
    cols = ", ".join(f'"{column_of[c]}"' for c in columns)
    with cur.copy(f'COPY "{model._meta.db_table}" ({cols}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


# ---- the bulk path: indexes dropped and rebuilt, triggers off, ids taken in one block

def secondary_indexes() -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index of the big tables not backing a constraint."""
    tables = [m._meta.db_table for m in BIG_TABLES]
    with connection.cursor() as cur:
        cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                       WHERE i.tablename = ANY(%s) AND i.indexname NOT IN (
                         SELECT c.conname FROM pg_constraint c WHERE c.conindid <> 0)""", [tables])
        return cur.fetchall()


def _max_ids() -> dict:
    out = {}
    with connection.cursor() as cur:
        for key, model in zip(("hh", "ev", "ch"), BIG_TABLES):
            cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{model._meta.db_table}"')
            out[key] = cur.fetchone()[0]
    return out


def _reset_sequences() -> None:
    with connection.cursor() as cur:
        for model in BIG_TABLES:
            table = model._meta.db_table
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")


def load_copy(cfg: dict, index: int, scale: float, progress=None) -> int:
    """One synthetic city: regions, plans, households with history. One transaction."""
    prefix = city_prefix(index)
    with transaction.atomic():
        load_copy_regions(prefix, index)
        villages = _copy_weights(cfg, prefix)
        sources = demo_heat_sources([moved(c, prefix) for c in cfg["counties"]])
        next_ids, serial, now, written = _max_ids(), Counter(), timezone.now(), 0
        with connection.cursor() as cur:
            raw = cur.cursor
            cur.execute("SET LOCAL session_replication_role = replica")  # no per-row FK triggers
            for households, events, changes in household_chunks(copy_config(cfg, index), villages, scale,
                                                                prefix, next_ids, serial, now, sources):
                _copy(raw, Household, HOUSEHOLD_COLUMNS, households)
                _copy(raw, LifecycleEvent, EVENT_COLUMNS, events)
                _copy(raw, HouseholdChange, CHANGE_COLUMNS, changes)
                written += len(households)
                if progress:
                    progress(len(households))
        counts.rebuild(prefix)  # the count triggers were off with the foreign-key ones
        HouseholdNumberSequence.objects.bulk_create(
            [HouseholdNumberSequence(county_code=c, last=n) for c, n in serial.items()])
        load_copy_plans(cfg, prefix)
        _reset_sequences()
    return written


def _copy_weights(cfg: dict, prefix: str) -> dict:
    """The demo's village weights (by kind, from the config) keyed by the demo's own codes: the
    generator runs on Xinzhou's codes and the rows are moved afterwards."""
    rows = sorted((r["code"], r["kind"]) for r in read_city(SOURCE_CITY) if r["level"] == VILLAGE)
    return demo.village_weights(cfg, rows)


def load_scale(cities: int, scale: float = 1.0, progress=None, log=print) -> int:
    """Fill the database with `cities` synthetic cities (the missing ones); returns households written."""
    if connection.vendor != "postgresql":
        raise RuntimeError("load_scale 仅支持 PostgreSQL / PostgreSQL only")
    cfg = read_config()
    if not Household.objects.exists():
        load_demo(cfg, scale=0.001)  # users, rules, plans and the demo's small records beside the copies
    done = city_count_done()
    if done >= cities:  # nothing to add: leave the indexes alone
        ensure_scale_users(city_prefix(0))
        return 0
    indexes = secondary_indexes()
    with connection.cursor() as cur:
        for name, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    written = 0
    try:
        for index in range(done, cities):
            written += load_copy(cfg, index, scale, progress)
            log(f"city {city_prefix(index)} done")
    finally:
        log(f"building {len(indexes)} indexes …")
        with connection.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '1GB'")
            for name, statement in indexes:
                cur.execute(statement.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                            .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1))
                log(f"  {name}")
            cur.execute("ANALYZE")
    counts.compact()
    if written:
        log("progress by day (ledger.asof) …")
        asof.rebuild()  # COPY bypassed the ledger's writes that keep it
    ensure_scale_users(city_prefix(0))
    return written
