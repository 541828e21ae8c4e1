"""JSON API of the procurement module, mounted on the main API: the same services as the pages."""
from datetime import date
from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator
from pydantic_core import PydanticCustomError

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.api_errors import ErrorOut, StaleOut
from cleanheat.jobs.schemas import JobOut, started
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household
from cleanheat.regions.scope import require_in_scope
from cleanheat.versions import StaleEdit, etag, expected_version

from . import advisor, batch, catalog_rules, services, sizing
from .models import CatalogModel, CountyContract

router = Router(tags=["设备招标与选型 procurement"])


class CatalogModelOut(Schema):
    id: int
    tender_no: str
    lot: str
    county_code: str
    vendor: str
    equipment_type: str
    path: str
    model_name: str
    rated_capacity_kw: float
    rating_points: list   # as stored: a list of {t, kw, cop} unless an old entry is broken
    seasonal_efficiency: float
    min_operating_temp_c: float | None
    efficiency_grade: int | None
    unit_price: float
    install_price: float
    warranty_years: int
    repair_contact: str
    active: bool
    version: str


def _model_out(m: CatalogModel) -> dict:
    return {"id": m.pk, "tender_no": m.lot.tender_no, "lot": m.lot.code, "county_code": m.lot.county_code,
            "vendor": m.vendor, "equipment_type": m.equipment_type, "path": str(m.path), "model_name": m.model_name,
            "rated_capacity_kw": float(m.rated_capacity_kw),
            "rating_points": m.rating_points if isinstance(m.rating_points, list) else [],
            "seasonal_efficiency": float(m.seasonal_efficiency),
            "min_operating_temp_c": None if m.min_operating_temp_c is None else float(m.min_operating_temp_c),
            "efficiency_grade": m.efficiency_grade, "unit_price": float(m.unit_price),
            "install_price": float(m.install_price), "warranty_years": m.warranty_years,
            "repair_contact": m.repair_contact, "active": m.active, "version": services.catalog_version(m)}


@router.get("/catalog", response=list[CatalogModelOut])
@requires(roles.VIEW)
def list_catalog(request, path: str = "", active: bool = True):
    qs = services.visible_models(request.user).select_related("lot")
    if active:
        qs = qs.filter(active=True)
    return [_model_out(m) for m in qs if not path or m.path == path]


@router.get("/catalog/{model_id}", response=CatalogModelOut)
@requires(roles.VIEW)
def get_catalog_model(request, model_id: int, response: HttpResponse):
    out = _model_out(get_object_or_404(services.visible_models(request.user).select_related("lot"), pk=model_id))
    response["ETag"] = etag(out["version"])
    return out


class ContractLineOut(Schema):
    id: int
    model_id: int
    model_name: str
    unit_price: float
    install_price: float
    contracted: int
    allocated: int
    installed: int
    left: int


class ContractOut(Schema):
    id: int
    county_code: str
    contract_no: str
    vendor: str
    title: str
    signed_on: date | None
    delivery_until: date | None
    status: str
    lines: list[ContractLineOut]


def _contract_out(c: CountyContract) -> dict:
    lines = list(c.lines.select_related("model"))
    counts = services.line_counts(lines)
    return {"id": c.pk, "county_code": c.county_code, "contract_no": c.contract_no, "vendor": c.vendor,
            "title": c.title, "signed_on": c.signed_on, "delivery_until": c.delivery_until, "status": c.status,
            "lines": [{"id": x.pk, "model_id": x.model_id, "model_name": x.model.model_name,
                       "unit_price": float(x.unit_price), "install_price": float(x.install_price), **counts[x.pk]}
                      for x in lines]}


@router.get("/contracts", response=list[ContractOut])
@requires(roles.VIEW)
def list_contracts(request, county_code: str = ""):
    qs = services.visible_contracts(request.user)
    if county_code:
        qs = qs.filter(county_code=county_code)
    return [_contract_out(c) for c in qs]


@router.get("/contracts/{contract_id}", response=ContractOut)
@requires(roles.VIEW)
def get_contract(request, contract_id: int):
    return _contract_out(get_object_or_404(services.visible_contracts(request.user), pk=contract_id))


class LineIn(Schema):
    model_id: int
    quantity: int
    unit_price: float | None = None
    install_price: float | None = None


class ContractIn(Schema):
    county_code: str
    contract_no: str
    vendor: str = ""
    title: str = ""
    signed_on: date | None = None
    delivery_until: date | None = None
    status: str = "signed"
    note: str = ""
    lines: list[LineIn]


@router.post("/contracts", response={201: ContractOut, 404: ErrorOut})
@requires(roles.CONTRACTS)
def create_contract(request, payload: ContractIn):
    require_in_scope(request.user, payload.county_code)
    data = payload.dict(exclude={"lines"})
    lines = [{"model": get_object_or_404(services.visible_models(request.user).select_related("lot"), pk=x.model_id),
              "quantity": x.quantity, "unit_price": x.unit_price, "install_price": x.install_price}
             for x in payload.lines]
    return Status(201, _contract_out(services.create_contract(data, lines, user=request.user)))


class OptionOut(Schema):
    model_id: int | None
    model_name: str
    vendor: str
    capacity_kw: float
    rating_temp: float | None
    units: float
    unit: str
    tariff: str
    energy_cost: float
    price: float
    equipment_subsidy: float
    operating_subsidy: float
    annual: float
    contract_lines: list[dict]


class PathOut(Schema):
    path: str
    label: str
    feasible: bool
    reason: str
    far_above: bool
    options: list[OptionOut]
    excluded: list[dict]


class AdviceOut(Schema):
    household_no: str
    design_temp: float
    indoor_temp: float
    design_load_kw: float
    seasonal_heat_kwh: float
    degree_days: float
    cheapest_path: str | None
    paths: list[PathOut]
    allocated_model_id: int | None


@router.get("/households/{household_no}/advice", response={200: AdviceOut, 409: ErrorOut})
@requires(roles.VIEW)
def get_advice(request, household_no: str):
    household = scoped_household(request.user, household_no)
    try:
        a = advisor.advise(household)
    except sizing.MissingData as missing:
        raise HttpError(409, str(missing)) from missing
    current = household.allocations.filter(released_at__isnull=True).select_related("line").first()
    return {"household_no": household.household_no, "design_temp": a.design_temp, "indoor_temp": a.indoor_temp,
            "design_load_kw": round(a.design_load_kw, 2), "seasonal_heat_kwh": round(a.seasonal_heat_kwh),
            "degree_days": round(a.degree_days), "cheapest_path": a.cheapest,
            "allocated_model_id": current.line.model_id if current else None,
            "paths": [{"path": p.path, "label": p.label, "feasible": p.feasible, "reason": p.reason,
                       "far_above": p.far_above,
                       "excluded": [{"model_id": m.pk, "model_name": m.model_name, "reason": why} for m, why in p.excluded],
                       "options": [{"model_id": o.model.pk if o.model else None,
                                    "model_name": o.model.model_name if o.model else "接入供热管网",
                                    "vendor": o.model.vendor if o.model else "", "capacity_kw": round(o.capacity_kw, 2),
                                    "rating_temp": o.rating_temp, "units": round(o.units, 2), "unit": o.unit,
                                    "tariff": o.tariff, "energy_cost": round(o.energy_cost, 2), "price": o.price,
                                    "equipment_subsidy": round(o.equipment_subsidy, 2),
                                    "operating_subsidy": round(o.operating_subsidy, 2), "annual": round(o.annual, 2),
                                    "contract_lines": [{"line_id": line.pk, "contract_no": line.contract.contract_no,
                                                        "left": left} for line, left in o.lines]}
                                   for o in p.options]} for p in a.paths]}


class AllocateIn(Schema):
    line_id: int


class AllocationOut(Schema):
    id: int
    household_no: str
    line_id: int
    model_name: str
    contract_no: str


@router.post("/households/{household_no}/allocation", response={201: AllocationOut})
@requires(roles.ALLOCATE)
def allocate(request, household_no: str, payload: AllocateIn):
    household = scoped_household(request.user, household_no)
    line = get_object_or_404(services.visible_lines(request.user).select_related("model", "contract"),
                             pk=payload.line_id)
    a = services.allocate(household, line, user=request.user, channel=Channel.API)
    return Status(201, {"id": a.pk, "household_no": household.household_no, "line_id": line.pk,
                 "model_name": line.model.model_name, "contract_no": line.contract.contract_no})


class ReleaseIn(Schema):
    reason: str


@router.post("/households/{household_no}/allocation/release", response={204: None})
@requires(roles.ALLOCATE)
def release(request, household_no: str, payload: ReleaseIn):
    household = scoped_household(request.user, household_no)
    current = get_object_or_404(household.allocations, released_at__isnull=True)
    services.release(current, reason=payload.reason, user=request.user, channel=Channel.API)
    return Status(204, None)


class SizingIn(Schema):
    region: str = ""


@router.post("/sizing", response={202: JobOut})
@requires(roles.CATALOG)
def start_sizing(request, payload: SizingIn):
    return Status(202, started(batch.start_job(request.user, payload.region)))


class CatalogModelPatch(Schema):
    rated_capacity_kw: float | None = None
    rating_points: list | None = Field(None, description='额定工况，如 [{"t": -12, "kw": 10, "cop": 2.7}]')
    seasonal_efficiency: float | None = None
    min_operating_temp_c: float | None = None
    efficiency_grade: int | None = None
    unit_price: float | None = None
    install_price: float | None = None
    warranty_years: int | None = None
    repair_contact: str | None = None
    active: bool | None = None

    @field_validator("*")
    @classmethod
    def _catalog_rules(cls, value, info):
        """The catalog's own rules (the service checks them again with the equipment type)."""
        problems = catalog_rules.catalog_value_problems(info.field_name, value) if value is not None else []
        if problems:
            raise PydanticCustomError("catalog_value", "{reason}", {"reason": "；".join(map(str, problems))})
        return value


@router.patch("/catalog/{model_id}", response={200: CatalogModelOut, 412: StaleOut})
@requires(roles.CATALOG)
def update_catalog_model(request, model_id: int, payload: CatalogModelPatch, response: HttpResponse):
    """Send the ETag of your last read as If-Match: a save on an older version answers 412 with
    the entry as it is now, and nothing is written."""
    model = get_object_or_404(services.visible_models(request.user).select_related("lot"), pk=model_id)
    data = {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in payload.dict(exclude_none=True).items()}
    try:
        services.update_catalog_model(model, data, user=request.user, expected_version=expected_version(request))
    except StaleEdit as stale:
        stale.current = _model_out(CatalogModel.objects.select_related("lot").get(pk=model.pk))
        raise
    out = _model_out(CatalogModel.objects.select_related("lot").get(pk=model.pk))
    response["ETag"] = etag(out["version"])
    return out


class StatusIn(Schema):
    status: str


@router.post("/contracts/{contract_id}/status", response=ContractOut)
@requires(roles.CONTRACTS)
def set_contract_status(request, contract_id: int, payload: StatusIn):
    contract = get_object_or_404(services.visible_contracts(request.user), pk=contract_id)
    services.set_contract_status(contract, payload.status, user=request.user)
    return _contract_out(contract)
