"""Compliance scan: every current breach and warning of the plan's rules within a scope.

A handful of grouped queries for the whole scope (not one per household); the per-household
checks are the same pure functions the write paths use."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Sum
from django.utils import timezone

from cleanheat.figures.cache import cached
from cleanheat.ledger.choices import STATE_ORDER, HeatingPath, LifecycleState
from cleanheat.ledger.models import Household, LifecycleEvent, MaintenanceRecord
from cleanheat.procurement.batch import undersized
from cleanheat.regions.scope import code_q

from . import checks, engine
from .models import GasContract, HeatingSeason, HeatSource

RULES = {"removal": "先立后破、不立不破", "gas": "以气定改", "heat_source": "热源环保绩效与烟气净化",
         "retrofit": "节能改造能效提升30%", "sizing": "设备容量满足设计热负荷"}
INSTALLED = STATE_ORDER.index(LifecycleState.INSTALLED)
ENCLOSING = (4, 6, 9)  # code prefix lengths of the city, county and township


@dataclass
class Finding:
    rule: str
    severity: str           # breach / warning
    household_id: int
    household_no: str
    village: str
    message: str


def findings(prefix: str, *, only_if_cached: bool = False) -> list[Finding] | None:
    """scan(prefix) for today, cached until the next write. Taken from a cached scan of an enclosing
    area when there is one (a county page after the city's: no second scan), since each rule judges
    a household the same whatever the area it is scanned in (gas demand is a whole contract's, the
    rules' parameters the city's)."""
    for length in ENCLOSING:
        if length < len(prefix):
            outer = cached("rules.scan", (prefix[:length],), None, only_if_cached=True)
            if outer is not None:
                return [f for f in outer if f.village.startswith(prefix)]
    return cached("rules.scan", (prefix,), lambda: scan(prefix), only_if_cached=only_if_cached)


def scan(prefix: str, today: date | None = None) -> list[Finding]:
    today = today or timezone.localdate()
    households = Household.objects.filter(code_q("village_id", prefix), archived=False)
    config = engine.config_for(prefix.ljust(12, "0") if len(prefix) >= 4 else "1409", today)
    findings: list[Finding] = []
    findings += _removal(households, config, today)
    findings += _gas(households, config)
    findings += _heat_sources(households, config)
    findings += _retrofit(households, config)
    findings += _sizing(prefix)
    return findings


def _removal(households, config, today):
    out = []
    done = households.filter(state__in=[LifecycleState.PROVEN, LifecycleState.REMOVED])
    rows = {pk: (no, v, st, consent) for pk, no, v, st, consent in
            done.values_list("pk", "household_no", "village_id", "state", "removal_consent_on")}
    out += _voided_seasons(households, config, today)
    if not rows:
        return out
    commissioned = dict(LifecycleEvent.objects.filter(household__in=done, to_state=LifecycleState.INSTALLED,
                                                      is_backstep=False)
                        .values("household_id").annotate(d=Max("occurred_on")).values_list("household_id", "d"))
    outages = defaultdict(list)
    for pk, reported, resolved in MaintenanceRecord.objects.filter(household__in=done, is_outage=True) \
            .values_list("household_id", "reported_on", "resolved_on"):
        outages[pk].append((reported, resolved))
    seasons = defaultdict(list)
    for county, start, end in HeatingSeason.objects.values_list("county_code", "start", "end"):
        seasons[county].append((start, end))
    for pk, (no, village, state, consent) in rows.items():
        problem = checks.proven_season(commissioned.get(pk), seasons.get(village[:6]) or seasons.get("", []),
                                       outages.get(pk, []), config.outage_limit_days, today)
        if problem:
            out.append(Finding("removal", "breach", pk, no, village, problem))
        if state == LifecycleState.REMOVED and (problem := checks.removal_consent(consent)):
            out.append(Finding("removal", "breach", pk, no, village, problem))
    return out



def _voided_seasons(households, config, today):
    """Households in their first season (installed or accepted) whose season is already voided by an
    outage over the limit: typed on the household page or opened by a hotline ticket."""
    running = households.filter(state__in=[LifecycleState.INSTALLED, LifecycleState.ACCEPTED])
    outages = defaultdict(list)
    for pk, reported, resolved in MaintenanceRecord.objects.filter(household__in=running, is_outage=True) \
            .values_list("household_id", "reported_on", "resolved_on"):
        outages[pk].append((reported, resolved))
    if not outages:
        return []
    rows = dict((pk, (no, v)) for pk, no, v in running.filter(pk__in=list(outages))
                .values_list("pk", "household_no", "village_id"))
    commissioned = dict(LifecycleEvent.objects.filter(household__in=list(rows), to_state=LifecycleState.INSTALLED,
                                                      is_backstep=False)
                        .values("household_id").annotate(d=Max("occurred_on")).values_list("household_id", "d"))
    seasons = defaultdict(list)
    for county, start, end in HeatingSeason.objects.values_list("county_code", "start", "end"):
        seasons[county].append((start, end))
    out = []
    for pk, (no, village) in rows.items():
        problem = checks.season_voided(commissioned.get(pk), seasons.get(village[:6]) or seasons.get("", []),
                                       outages[pk], config.outage_limit_days, today)
        if problem:
            out.append(Finding("removal", "warning", pk, no, village, problem))
    return out

def _gas(households, config):
    out = []
    index = float(config.gas_index_m3_per_m2)
    gas = households.filter(heating_path=HeatingPath.GAS).exclude(state=LifecycleState.CONFIRMED)
    rows = list(gas.values_list("pk", "household_no", "village_id", "heated_area"))
    if not rows:
        return out
    contracts = list(GasContract.objects.prefetch_related("villages"))
    by_village = defaultdict(list)
    for c in contracts:
        for v in c.villages.all():
            by_village[v.code].append(c)
    # demand on each contract: all its coal-to-gas households (whole contract, not only this scope)
    demand = {}
    for c in contracts:
        area = Household.objects.filter(village_id__in=[v.code for v in c.villages.all()], heating_path=HeatingPath.GAS,
                                        archived=False).exclude(state=LifecycleState.CONFIRMED) \
            .aggregate(a=Sum("heated_area"))["a"] or 0
        demand[c.pk] = float(area) * index
    for pk, no, village, area in rows:
        cs = by_village.get(village, [])
        data = [{"name": c.name, "volume": c.season_volume_m3, "pipeline_done": c.pipeline_done,
                 "safety_passed": c.safety_passed} for c in cs]
        covered = sum(demand[c.pk] for c in cs) - float(area) * index
        problem = checks.gas_supply(data, covered, float(area) * index)
        if problem:
            out.append(Finding("gas", "breach", pk, no, village, problem))
        elif cs and sum(demand[c.pk] for c in cs) > 0.9 * sum(c.season_volume_m3 for c in cs):
            out.append(Finding("gas", "warning", pk, no, village,
                               f"供气合同气量使用已超过90%，新增煤改气户前须扩容{checks.SECTION_GAS}"))
    return out


def _heat_sources(households, config):
    out = []
    grades = config.grades()
    sources = {s.pk: s for s in HeatSource.objects.all()}
    problems = {pk: checks.heat_source({"name": s.name, "kind": s.kind, "grade": s.grade,
                                               "on_exit_list": s.on_exit_list,
                                               "flue_gas_cleaning": s.flue_gas_cleaning}, grades)
                for pk, s in sources.items()}
    installed_states = STATE_ORDER[INSTALLED:]
    rows = households.filter(heating_path__in=[HeatingPath.CENTRAL, HeatingPath.BIOMASS], state__in=installed_states) \
        .values_list("pk", "household_no", "village_id", "heating_path", "heat_source_id")
    for pk, no, village, path, source in rows:
        if source is None:
            if path == HeatingPath.CENTRAL:
                out.append(Finding("heat_source", "breach", pk, no, village, checks.heat_source(None, grades)))
            continue
        if problems.get(source):
            out.append(Finding("heat_source", "breach", pk, no, village, problems[source]))
    return out


def _retrofit(households, config):
    out = []
    for pk, no, village, gain in households.filter(envelope_retrofitted=True) \
            .values_list("pk", "household_no", "village_id", "envelope_gain_pct"):
        if gain is None:
            out.append(Finding("retrofit", "warning", pk, no, village,
                               f"已做节能改造但未登记能效提升比例{checks.SECTION_RETROFIT}"))
        elif problem := checks.retrofit_gain(True, gain, config.retrofit_min_gain_pct):
            out.append(Finding("retrofit", "breach", pk, no, village, problem))
    return out


def _sizing(prefix):
    """Allocated units too small for the household's design load (§四.2: sized to the demand)."""
    out = []
    for pk, no, village, load, cap, model in undersized(prefix):
        what = f"设计工况制热量{cap:.1f} kW" if cap == cap else "没有不高于设计温度的额定工况数据"
        out.append(Finding("sizing", "warning", pk, no, village,
                           f"已分配型号{model}{what}，小于本户设计热负荷{load:.1f} kW，低温天气可能供暖不足、"
                           f"返烧散煤（§四.2）"))
    return out


def summary(findings, unit_length: int) -> dict:
    """{unit prefix: {(rule, severity): count}}"""
    counts = defaultdict(lambda: defaultdict(int))
    for f in findings:
        counts[f.village[:unit_length]][(f.rule, f.severity)] += 1
    return counts
