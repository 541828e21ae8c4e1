"""Loads a city's rule parameters and heating seasons; builds the demo's heat sources and gas
contracts so that the ledger's demo households comply (apart from a few deliberate breaches)."""
import json
from datetime import date
from pathlib import Path

from django.db import transaction
from django.db.models import Sum

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
    from cleanheat.ledger.choices import HeatingPath, LifecycleState
    from cleanheat.ledger.models import Household
    from cleanheat.regions.models import Region
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
