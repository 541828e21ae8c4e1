"""Gathers what the rule checks need from the database and applies them on the write paths.

Called by ledger.services (transition, create, update) — the single door UI, API, import and
commands all pass through — so no door bypasses a rule."""
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from django.db.models import Sum
from django.utils import timezone

from cleanheat.inspections import evidence
from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.models import Household

from . import checks
from .models import GasContract, HeatingSeason, RuleConfig

CONFIRMED = lifecycle.index(LifecycleState.CONFIRMED)
INSTALLED = lifecycle.index(LifecycleState.INSTALLED)


class _Batch:
    """Caches for checking many rows at once (an import): rule data is read once, and the gas
    demand of rows accepted earlier in the same file counts against the contracts."""

    def __init__(self):
        self.configs, self.source_problems, self.demand = {}, {}, {}
        self.contracts = None
        self.locks = None   # approved (locked) units, read once

    def contracts_for(self, village_code):
        if self.contracts is None:
            self.contracts = {}
            for c in GasContract.objects.prefetch_related("villages"):
                for v in c.villages.all():
                    self.contracts.setdefault(v.code, []).append(c)
        return self.contracts.get(village_code, [])


_batch: ContextVar[_Batch | None] = ContextVar("rules_batch", default=None)


@contextmanager
def batch():
    token = _batch.set(_Batch())
    try:
        yield
    finally:
        _batch.reset(token)


def config_for(village_code: str, on: date | None = None) -> RuleConfig:
    city = village_code[:4].ljust(12, "0")
    year = (on or timezone.localdate()).year
    state = _batch.get()
    if state is not None and (city, year) in state.configs:
        return state.configs[(city, year)]
    config = (RuleConfig.objects.filter(city_code=city, year__lte=year).order_by("-year").first()
              or RuleConfig(city_code=city, year=year))
    if state is not None:
        state.configs[(city, year)] = config
    return config


def seasons_for(village_code: str) -> list[tuple[date, date]]:
    city = village_code[:4].ljust(12, "0")
    own = list(HeatingSeason.objects.filter(city_code=city, county_code=village_code[:6]).values_list("start", "end"))
    return own or list(HeatingSeason.objects.filter(city_code=city, county_code="").values_list("start", "end"))


def commissioned_on(household) -> date | None:
    """When the new system went into use: the last forward move into 已完工."""
    event = household.lifecycle_events.filter(to_state=LifecycleState.INSTALLED, is_backstep=False) \
        .order_by("-id").first()
    return event.occurred_on if event else None


def gas_demand_m3(area, config) -> float:
    return float(area) * float(config.gas_index_m3_per_m2)


def _contract_demand(contract, index: float, exclude_pk=None) -> float:
    covered = Household.objects.filter(village_id__in=[v.code for v in contract.villages.all()],
                                       heating_path=HeatingPath.GAS, archived=False) \
        .exclude(state=LifecycleState.CONFIRMED)
    if exclude_pk is not None:
        covered = covered.exclude(pk=exclude_pk)
    return float(covered.aggregate(a=Sum("heated_area"))["a"] or 0) * index


def gas_problem(household, village_code: str, area) -> str | None:
    state = _batch.get()
    config = config_for(village_code)
    index = float(config.gas_index_m3_per_m2)
    exclude = household.pk if household is not None and household.pk else None
    if state is None:
        contracts = list(GasContract.objects.filter(villages__code=village_code).distinct().prefetch_related("villages"))
        demand = sum(_contract_demand(c, index, exclude) for c in contracts)
    else:
        contracts = state.contracts_for(village_code)
        for c in contracts:
            if c.pk not in state.demand:
                state.demand[c.pk] = _contract_demand(c, index)
        demand = sum(state.demand[c.pk] for c in contracts)
    this = gas_demand_m3(area, config)
    problem = checks.gas_supply(
        [{"name": c.name, "volume": c.season_volume_m3, "pipeline_done": c.pipeline_done,
          "safety_passed": c.safety_passed} for c in contracts], demand, this)
    if problem is None and state is not None and contracts:
        state.demand[contracts[0].pk] += this  # later rows of the file see this household's demand
    return problem


def heat_source_problem(source, village_code: str) -> str | None:
    state = _batch.get()
    key = (source.pk if source is not None else None, village_code[:4])
    if state is not None and key in state.source_problems:
        return state.source_problems[key]
    data = None if source is None else {"name": source.name, "kind": source.kind, "grade": source.grade,
                                        "on_exit_list": source.on_exit_list, "flue_gas_cleaning": source.flue_gas_cleaning}
    problem = checks.heat_source(data, config_for(village_code).grades())
    if state is not None:
        state.source_problems[key] = problem
    return problem


def lock_problem(village_code: str, year) -> str | None:
    """The ledger of this village and plan year is approved for the city assessment (locked)."""
    state = _batch.get()
    if state is None:
        return evidence.lock_problem(village_code, year)
    if state.locks is None:
        state.locks = evidence.approved_units()
    return evidence.lock_problem(village_code, year, state.locks)


def any_lock() -> bool:
    state = _batch.get()
    if state is not None:
        if state.locks is None:
            state.locks = evidence.approved_units()
        return bool(state.locks)
    return bool(evidence.approved_units())


def retrofit_problem(retrofitted, gain, village_code: str) -> str | None:
    return checks.retrofit_gain(retrofitted, gain, config_for(village_code).retrofit_min_gain_pct)


def for_state(household, *, path, village_code, area, state, heat_source, consent_on=None,
              entering: bool = False) -> dict:
    """Rules about a household being in `state` with these values: {field: message}."""
    errors = {}
    index = lifecycle.index(state)
    if path == HeatingPath.GAS and index > CONFIRMED and entering:
        if problem := gas_problem(household, village_code, area):
            errors["heating_path"] = problem
    if path in (HeatingPath.CENTRAL, HeatingPath.BIOMASS) and index >= INSTALLED:
        if path == HeatingPath.CENTRAL or heat_source is not None:
            if problem := heat_source_problem(heat_source, village_code):
                errors["heat_source"] = problem
    return errors


def for_transition(household, to_state: str, today: date, *, from_state: str | None = None,
                   commissioned: date | None = None, acceptance: str | None = None) -> dict:
    """The lifecycle rules of a move: 先立后破 for proven and removed, plus the state rules.

    For one move of several recorded at once (an import naming a later step): `from_state`, the
    step it moves from (default: the household's state), and `commissioned`, the day of a move into
    已完工 recorded with it (default: the last one recorded). 已验收 needs the household's passed
    acceptance record (`acceptance`: its number, when the caller names one; 《实施方案》六.1)."""
    errors = {}
    if to_state == LifecycleState.ACCEPTED and (problem := evidence.acceptance_problem(household, acceptance)):
        errors["to_state"] = problem
    if to_state in (LifecycleState.PROVEN, LifecycleState.REMOVED):
        config = config_for(household.village_id, today)
        outages = list(household.maintenance.filter(is_outage=True).values_list("reported_on", "resolved_on"))
        if problem := checks.proven_season(commissioned or commissioned_on(household),
                                           seasons_for(household.village_id), outages, config.outage_limit_days,
                                           today):
            errors["to_state"] = problem
    if to_state == LifecycleState.REMOVED and (problem := checks.removal_consent(household.removal_consent_on)):
        errors.setdefault("to_state", problem)
    entering = lifecycle.index(from_state or household.state) == CONFIRMED
    for field, message in for_state(household, path=household.heating_path, village_code=household.village_id,
                                    area=household.heated_area, state=to_state, heat_source=household.heat_source,
                                    entering=entering).items():
        errors.setdefault("to_state", message)
    return errors
