"""Demo data for the procurement module: reference data and the tender catalog from the JSON,
heat-network reach of the demo heat sources, one purchase contract per county and vendor sized
to the county's selected households, and allocations (a few deliberately undersized)."""
from collections import Counter, defaultdict

import numpy as np
from django.db import transaction

from cleanheat import bulk
from cleanheat.ledger.choices import STATE_ORDER, LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.rules.models import HeatSource

from . import batch, selection, services
from .models import Allocation, ContractLine, CountyContract
from .sizing import PATHS, demand_of_rows, load_params, load_supply

UNDERSIZED_EVERY = 150   # about one allocation in 150 gets a unit one size too small (for the compliance view)
SELECTED = STATE_ORDER.index(LifecycleState.SELECTED)


@transaction.atomic
def load_demo_procurement(spec: dict | None = None) -> dict:
    spec = spec or services.read_spec()
    services.load_reference(spec)
    services.load_catalog(spec["lots"])
    _heat_network_reach()
    params = load_params(spec["config"]["city_code"])
    picks = _pick_models(params)
    contracts = _contracts(params, picks)
    stats = batch.size_region("", params=params)
    stats["contracts"] = contracts
    stats["allocations"] = len(picks)
    return stats


def _heat_network_reach():
    through = HeatSource.villages.through
    pairs = set(Household.objects.filter(heat_source__isnull=False).values_list("heat_source_id", "village__pk"))
    through.objects.bulk_create([through(heatsource_id=s, region_id=v) for s, v in sorted(pairs)], batch_size=5000)


def _pick_models(params) -> list[tuple[int, str, int]]:
    """(household id, county, catalog column) for selected households on an equipment path: the
    cheapest fitting model of the household's own device type."""
    cfg, catalog = params.config, params.catalog
    supply = load_supply("")
    rows = list(Household.objects.filter(archived=False, heating_path__in=["electric", "gas", "biomass"],
                                         state__in=STATE_ORDER[SELECTED:])
                .values_list("pk", "village_id", "heated_area", "structure", "envelope_retrofitted",
                             "envelope_gain_pct", "heating_path", "electric_device").order_by("pk"))
    picks, due = [], True
    for start in range(0, len(rows), batch.CHUNK):
        chunk = rows[start:start + batch.CHUNK]
        ids, villages, area, structure, retro, gain, path, device = zip(*chunk)
        county, load, heat = demand_of_rows(params, villages, area, structure, retro, gain)
        feasible = np.ones((len(chunk), len(PATHS)), dtype=bool)  # they already are on that path
        result = selection.evaluate(load, heat, county, params.design_temp[county], supply.spare(villages),
                                    (PATHS, feasible), catalog, cfg.tariffs, cfg.subsidies, cfg.lifetime_years)
        choice = np.full(len(chunk), -1)
        kinds = np.array([f"{p}/{d}" for p, d in zip(path, device)], dtype=object)
        for combo in set(kinds.tolist()):  # the cheapest fitting model of each household's own device type
            p, d = combo.split("/")
            wanted = (catalog.path == p) & ((catalog.kind == d) if d else True)
            rows_ = np.flatnonzero(kinds == combo)
            annual = np.where(wanted[None, :], result.annual[rows_], np.inf)
            best = np.argmin(annual, axis=1)
            choice[rows_] = np.where(np.isfinite(annual[np.arange(len(rows_)), best]), best, -1)
        for i in np.flatnonzero(choice >= 0).tolist():
            j = int(choice[i])
            due = due or len(picks) % UNDERSIZED_EVERY == 0
            if due:
                same = (catalog.path == path[i]) & ((catalog.kind == device[i]) if device[i] else True)
                smaller = [k for k in np.flatnonzero(same & catalog.available[county[i]])
                           if catalog.capacity[county[i], k] < load[i]]
                if smaller:  # else the next household takes the turn
                    j, due = int(max(smaller, key=lambda k: catalog.capacity[county[i], k])), False
            picks.append((ids[i], villages[i][:6], j))
    return picks


def _contracts(params, picks) -> int:
    need = Counter((county, j) for _, county, j in picks)
    by_vendor = defaultdict(list)
    for (county, j), n in sorted(need.items()):
        by_vendor[(county, params.models[j].vendor)].append((j, n))
    lines = {}
    for serial, ((county, vendor), items) in enumerate(sorted(by_vendor.items()), start=1):
        contract = CountyContract.objects.create(
            county_code=county, contract_no=f"{county}-2022-CG-{serial:03d}", vendor=vendor,
            title=f"2022年清洁取暖设备采购合同（{vendor}）", status="signed", note="演示数据")
        for j, n in items:
            model = params.models[j]
            lines[(county, j)] = ContractLine.objects.create(
                contract=contract, model=model, quantity=n + max(2, n // 10),  # some headroom for late changes
                unit_price=model.unit_price, install_price=model.install_price).pk
    bulk.insert(Allocation, [Allocation(household_id=pk, line_id=lines[(county, j)], channel="system")
                             for pk, county, j in picks])
    return len(by_vendor)
