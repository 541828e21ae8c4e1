"""The database in the calculation's terms: a year's policies by region, and the facts of many
households as columns (few queries, numbers converted in SQL), for calc_batch.batch_lines."""
from collections import defaultdict
from datetime import date

import numpy as np
from django.db import connection
from django.db.models import BigIntegerField, CharField, F, IntegerField, Min
from django.db.models.functions import Cast, Round

from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.procurement.models import Allocation, ContractLine
from cleanheat.regions.scope import code_q
from cleanheat.rules.models import HeatingSeason

from . import calc, calc_batch, terms
from .models import EnergyReading, SubsidyPolicy

IN_CHUNK = 5000   # ids per IN (...) list


def AS_TEXT(expression):  # noqa: N802 — reads like the SQL it stands for
    """A date as ISO text: the SQLite driver would otherwise parse every date of a city-wide read."""
    return Cast(expression, CharField())


def policies_for_year(year: int) -> dict[str, tuple]:
    """{region prefix: versions of its policy in effective_from order} (city '1409', county '140902')."""
    versions = defaultdict(list)
    for policy in (SubsidyPolicy.objects.filter(year=year).select_related("region")
                   .prefetch_related("items", "tilts").order_by("region_id", "effective_from")):
        versions[policy.region.prefix].append(policy.as_calc())
    return {prefix: tuple(vs) for prefix, vs in versions.items()}


def fetch(queryset) -> list[tuple]:
    """The rows of a values_list query as the database driver gives them: Django's per-value
    converters (booleans, dates) cost more than everything else here at city scale."""
    with connection.cursor() as cursor:
        cursor.execute(*queryset.query.sql_with_params())
        return cursor.fetchall()


def _ordinals(values) -> np.ndarray:
    """Dates as the driver gives them (date, or ISO text on SQLite; None) → day ordinals (0 = none)."""
    memo = {None: 0}
    for v in set(values):
        if v not in memo:
            memo[v] = (date.fromisoformat(v) if isinstance(v, str) else v).toordinal()
    return np.array([memo[v] for v in values], dtype=np.int64)


def _place(ids: np.ndarray, keys) -> tuple[np.ndarray, np.ndarray]:
    """(rows of `ids` that `keys` name, which of `keys` are among `ids`); ids sorted."""
    keys = np.asarray(keys, dtype=np.int64)
    pos = np.minimum(np.searchsorted(ids, keys), max(len(ids) - 1, 0))
    found = (ids[pos] == keys) if len(ids) else np.zeros(len(keys), dtype=bool)
    return pos[found], found


def _allocations(prefix: str, ids: np.ndarray):
    """Per household: price (fen, NONE), device type and text of its active allocation."""
    lines = {}
    for line in ContractLine.objects.select_related("model", "contract"):
        m = line.model
        lines[line.pk] = (int(line.unit_price * 100), m.equipment_type,
                          f"{m.get_equipment_type_display()} {m.vendor} {m.model_name}（合同 {line.contract.contract_no}）")
    rows = fetch(Allocation.objects.filter(code_q("household__village_id", prefix), released_at__isnull=True)
                  .values_list("household_id", "line_id"))
    price = np.full(len(ids), terms.NONE, dtype=np.int64)
    devices, texts = np.full(len(ids), "", dtype=object), [""] * len(ids)
    if rows:
        hids, line_ids = zip(*rows)
        pos, found = _place(ids, hids)
        for row, line_id in zip(pos.tolist(), np.asarray(line_ids)[found].tolist()):
            price[row], devices[row], texts[row] = lines[line_id]
    return price, devices, texts


def _accepted(prefix: str, ids: np.ndarray) -> np.ndarray:
    """Per household the day (ordinal) of its last forward move into 已验收; 0 if none."""
    rows = fetch(LifecycleEvent.objects.filter(code_q("household__village_id", prefix),
                                                to_state=LifecycleState.ACCEPTED, is_backstep=False)
                  .annotate(day=AS_TEXT("occurred_on")).values_list("household_id", "day"))
    days = np.zeros(len(ids), dtype=np.int64)
    if rows:
        hids, when = zip(*rows)
        pos, found = _place(ids, hids)
        np.maximum.at(days, pos, _ordinals(when)[found])
    return days


def _first_steps(ids: list[int]) -> dict[int, int]:
    """household id → day ordinal of its first lifecycle step."""
    found = {}
    for start in range(0, len(ids), IN_CHUNK):
        rows = fetch(LifecycleEvent.objects.filter(household_id__in=ids[start:start + IN_CHUNK])
                      .values("household_id").annotate(day=AS_TEXT(Min("occurred_on")))
                      .values_list("household_id", "day"))
        if rows:
            found.update(zip((r[0] for r in rows), _ordinals([r[1] for r in rows]).tolist()))
    return found


def _seasons(city_code: str) -> dict[str, list]:
    """county code ('' for the city) → [(start, end)] of its heating seasons."""
    seasons = defaultdict(list)
    for county, start, end in HeatingSeason.objects.filter(city_code=city_code).values_list("county_code", "start", "end"):
        seasons[county].append((start, end))
    return seasons


def _first_seasons(villages, accepted: np.ndarray, city: str) -> np.ndarray:
    seasons, memo = _seasons(city), {}
    out = np.full(len(villages), terms.NONE, dtype=np.int64)
    for row in np.flatnonzero(accepted).tolist():
        key = (villages[row][:6], int(accepted[row]))
        if key not in memo:
            memo[key] = calc.first_season(date.fromordinal(key[1]), seasons.get(key[0]) or seasons.get("", []))
        out[row] = memo[key]
    return out


def load(prefix: str = "") -> tuple[calc_batch.Households, calc_batch.Readings]:
    """Every active household under `prefix` and its readings, as calc's columns."""
    rows = fetch(Household.objects.filter(code_q("village_id", prefix), archived=False)
                  .annotate(area10=Cast(Round(F("heated_area") * 10), IntegerField()))
                  .values_list("pk", "village_id", "heating_path", "state", "is_dibao", "is_tekun", "is_tuopin",
                               "is_canji", "area10", "envelope_retrofitted").order_by("pk"))
    n = len(rows)
    ids, villages, paths, states, *flags, area, retro = zip(*rows) if rows else [()] * 10
    ids = np.array(ids, dtype=np.int64)
    retrofitted = np.array(retro, dtype=bool)
    accepted = _accepted(prefix, ids)
    price, devices, equipment = _allocations(prefix, ids)
    entered = np.zeros(n, dtype=np.int64)
    missing = np.flatnonzero(retrofitted & (accepted == 0))   # only their envelope line needs the entry day
    if len(missing):
        first = _first_steps(ids[missing].tolist())
        entered[missing] = [first.get(hid, 0) for hid in ids[missing].tolist()]
    households = calc_batch.Households(
        ids=ids, villages=list(villages), paths=np.array(paths, dtype=object), states=np.array(states, dtype=object),
        flags=np.array(flags, dtype=bool).T.reshape(n, 4), area=np.array(area, dtype=np.int64),
        retrofitted=retrofitted, devices=devices, price=price, equipment=equipment, accepted_on=accepted,
        entered_on=entered,
        first_season=_first_seasons(villages, accepted, (prefix[:4] or (villages[0][:4] if n else "1409")).ljust(12, "0")))
    return households, _readings(prefix, ids)


def _readings(prefix: str, ids: np.ndarray) -> calc_batch.Readings:
    # readings of archived households are dropped by _place (they are not among `ids`)
    rows = fetch(EnergyReading.objects.filter(code_q("household__village_id", prefix))
                  .annotate(o=Cast(Round(F("opening") * 100), BigIntegerField()),
                            c=Cast(Round(F("closing") * 100), BigIntegerField()), day=AS_TEXT("read_on"))
                  .values_list("household_id", "season", "unit", "o", "c", "day").order_by("household_id", "unit",
                                                                                              "season"))
    hids, season, unit, opening, closing, read_on = zip(*rows) if rows else [()] * 6
    pos, found = _place(ids, hids)
    return calc_batch.Readings(row=pos.astype(np.int64), season=np.array(season, dtype=np.int64)[found],
                         unit=np.array(unit, dtype=object)[found], opening=np.array(opening, dtype=np.int64)[found],
                         closing=np.array(closing, dtype=np.int64)[found], read_on=_ordinals(read_on)[found])
