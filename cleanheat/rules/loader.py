"""Loads a city's rule parameters and heating seasons; builds the demo's heat sources and gas
contracts so that the ledger's demo households comply (apart from a few deliberate breaches)."""
import json
from datetime import date
from pathlib import Path

from django.db import transaction
from django.db.models import F, IntegerField, Sum
from django.db.models.functions import Cast

from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.models import Household, MaintenanceRecord
from cleanheat.regions.models import Region

from .models import GasContract, HeatingSeason, HeatSource, RuleConfig

DATA = Path(__file__).resolve().parent / "data" / "xinzhou-2022-rules.json"


def read_rules(path: Path = DATA) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@transaction.atomic
def load_rules(spec: dict) -> RuleConfig:
    config, _ = RuleConfig.objects.update_or_create(city_code=spec["city_code"], year=spec["year"], defaults={
        k: spec[k] for k in ("outage_limit_days", "accepted_grades", "gas_index_m3_per_m2", "retrofit_min_gain_pct")})
    HeatingSeason.objects.filter(city_code=spec["city_code"], county_code="").delete()
    HeatingSeason.objects.bulk_create([HeatingSeason(city_code=spec["city_code"], start=date.fromisoformat(a),
                                                     end=date.fromisoformat(b)) for a, b in spec["seasons"]])
    return config


def demo_heat_sources(counties) -> dict:
    """One heat source per county for central heating and one biomass CHP: {county: (central, biomass)}."""
    sources = {}
    for i, county in enumerate(counties):
        central = HeatSource.objects.create(
            name=f"{county}示范热源（演示）", kind="waste_heat" if i % 3 == 0 else "chp", county_code=county,
            capacity_mw=200, grade="A" if i % 2 == 0 else "B")
        biomass = HeatSource.objects.create(
            name=f"{county}生物质热电（演示）", kind="biomass_chp", county_code=county, capacity_mw=30, grade="B")
        sources[county] = (central.pk, biomass.pk)
    return sources


def demo_gas_contracts(spec: dict) -> None:
    """A contract per county covering its coal-to-gas villages, with some headroom."""
    index = float(spec["gas_index_m3_per_m2"])
    rows = (Household.objects.filter(heating_path=HeatingPath.GAS, archived=False)
            .exclude(state=LifecycleState.CONFIRMED).values("village_id").annotate(a=Sum("heated_area")))
    by_county = {}
    for row in rows:
        by_county.setdefault(row["village_id"][:6], []).append((row["village_id"], float(row["a"])))
    for county, villages in sorted(by_county.items()):
        demand = sum(a for _, a in villages) * index
        contract = GasContract.objects.create(
            name=f"{county}煤改气供气合同（演示）", gas_company="示例燃气有限公司（演示）", county_code=county,
            season_volume_m3=int(demand * spec.get("gas_contract_headroom", 1.15)) + 1,
            pipeline_done=True, safety_passed=True)
        contract.villages.set(Region.objects.filter(code__in=[v for v, _ in villages]))


def demo_breaches() -> None:
    """A few realistic breaches per rule, so the compliance view has something to show."""
    def pick(qs, n):
        return list(qs.order_by("household_no").values_list("pk", flat=True)[:n])

    # 先立后破: removed without a recorded consent; a long outage in the proven season
    Household.objects.filter(pk__in=pick(Household.objects.filter(state=LifecycleState.REMOVED,
                                                                  village__code__startswith="140923"), 6)) \
        .update(removal_consent_on=None)
    MaintenanceRecord.objects.bulk_create([
        MaintenanceRecord(household_id=pk, reported_on=date(2022, 12, 20), resolved_on=date(2022, 12, 27),
                          description="热泵故障，停暖8天（演示）")
        for pk in pick(Household.objects.filter(state=LifecycleState.PROVEN, village__code__startswith="140924"), 8)])
    # 以气定改: one county's contract short of demand, another without safety acceptance
    GasContract.objects.filter(county_code="140925").update(
        season_volume_m3=models_F_times("season_volume_m3", 0.8))
    GasContract.objects.filter(county_code="140932").update(safety_passed=False)
    # heat source: a waste-heat plant whose grade dropped to B-
    dropped = HeatSource.objects.create(name="某焦化厂余热（演示，绩效降为B-）", kind="waste_heat",
                                        county_code="140926", capacity_mw=20, grade="B-")
    Household.objects.filter(pk__in=pick(Household.objects.filter(
        heating_path=HeatingPath.CENTRAL, village__code__startswith="140926", heat_source__isnull=False), 12)) \
        .update(heat_source=dropped)
    # retrofit below 30 %
    Household.objects.filter(pk__in=pick(Household.objects.filter(envelope_retrofitted=True,
                                                                  village__code__startswith="140927"), 10)) \
        .update(envelope_gain_pct=22)


def models_F_times(field, factor):
    return Cast(F(field) * factor, IntegerField())
