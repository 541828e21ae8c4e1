"""JSON API of the subsidies module, mounted on the main API: computing entitlements as a job, and
declaration and review (申报审核): list and read declarations in scope, declare (JSON, then photos
as multipart), correct, and the moves (submit, review, return with opinions, resubmit, approve).
Policies (versions with their items and tilts) and a household's entitlements (lines with their
inputs, arithmetic, level shares and what blocks their payment) are read here too.
Funds and payment batches: payment_api."""
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.api_errors import Pages
from cleanheat.jobs.schemas import JobOut, started
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household

from . import batch, payment_checks, services, terms
from .payment_api import router as payment_router
from . import declaration_flow as flow
from .models import Entitlement

router = Router(tags=["补贴资金 subsidies"])
router.add_router("", payment_router)   # funds and payment batches (payment_api)


class ComputeIn(Schema):
    year: int | str
    region: str = ""


@router.post("/compute", response={202: JobOut})
@requires(roles.COMPUTE)
def compute(request, payload: ComputeIn):
    """Compute the year's entitlements for a region (its 12-digit code or prefix; none: your whole
    area) in the background; poll the job at /jobs/{id}/. Approved lines stay as they are."""
    return Status(202, started(batch.start_job(request.user, payload.year, payload.region)))


# ---- declarations

class StepOut(Schema):
    at: datetime
    action: str
    level: str
    user: str
    from_status: str
    to_status: str
    opinions: dict
    note: str


class DeclarationRow(Schema):
    """A declaration as a list shows it (read from the model)."""
    id: int
    household_no: str
    village: str
    year: int
    invoice_no: str
    purchase_fen: int
    installer: str
    installed_on: date
    status: str
    status_label: str
    version: int
    over_purchase: bool

    @staticmethod
    def resolve_household_no(obj):
        return obj.household.household_no

    @staticmethod
    def resolve_village(obj):
        return obj.village_code

    @staticmethod
    def resolve_status_label(obj):
        return flow.STATE_LABELS[obj.status]


class DeclarationOut(DeclarationRow):
    """One declaration: the row, its photos and every step of its history."""
    attachments: list[dict] = []
    history: list[StepOut] = []

    @staticmethod
    def resolve_attachments(obj):
        return [{"id": a.pk, "kind": a.kind, "name": a.original_name, "size": a.size} for a in obj.attachments.all()]

    @staticmethod
    def resolve_history(obj):
        return [{"at": s.at, "action": s.action, "level": s.level, "user": s.user.username if s.user else "",
                 "from_status": s.from_status, "to_status": s.to_status, "opinions": s.opinions, "note": s.note}
                for s in obj.steps.select_related("user").order_by("at", "pk")]


class DeclarationFilters(Schema):
    year: int | None = None
    status: str = ""
    village: str = ""


class DeclarationIn(Schema):
    year: int | None = None
    invoice_no: str = ""
    purchase_yuan: str = ""
    installer: str = ""
    installed_on: date | None = None
    version: int | None = None
    submit: bool = False


class DeclarationActionIn(Schema):
    action: str = ""
    version: int | None = None
    opinions: dict[str, str] = {}
    note: str = ""


def _values(payload: DeclarationIn, year) -> dict:
    text = payload.purchase_yuan.strip()
    try:
        amount = Decimal(text) if text else None
    except InvalidOperation:
        amount = Decimal("NaN")
    if amount is not None and (not amount.is_finite() or abs(amount) >= 10 ** 10):
        raise ValidationError({"purchase_fen": ["购置金额应为数字（元）"]})
    if amount is not None and amount * 100 != (amount * 100).to_integral_value():
        raise ValidationError({"purchase_fen": ["购置金额最多保留两位小数（分）"]})
    fen = None if amount is None else int(amount * 100)
    return {"year": year, "invoice_no": payload.invoice_no, "purchase_fen": fen, "installer": payload.installer,
            "installed_on": payload.installed_on}


@router.get("/declarations", response=list[DeclarationRow])
@paginate(Pages, page_size=50)
@requires(roles.SUBSIDIES)
def list_declarations(request, filters: Query[DeclarationFilters]):
    """Declarations of households in your scope, by year, status (draft, submitted,
    township_reviewed, county_reviewed, approved, returned) and village code."""
    rows = services.declarations_for(request.user)
    if filters.year:
        rows = rows.filter(year=filters.year)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.village:
        rows = rows.filter(village_code=filters.village)
    return rows.order_by("village_code", "household__household_no")


@router.get("/declarations/{declaration_id}", response=DeclarationOut)
@requires(roles.SUBSIDIES)
def get_declaration(request, declaration_id: int):
    """One declaration with its photos and every step of its history (opinions per section)."""
    return services.get_declaration(request.user, declaration_id)


@router.post("/households/{household_no}/declarations", response={201: DeclarationOut})
@requires(roles.DECLARE)
def declare(request, household_no: str, payload: DeclarationIn):
    """Declare a household's subsidy for a year (a draft: upload the invoice and on-site photos,
    then submit). purchase_yuan: the amount in yuan as a string ("12800.00")."""
    household = scoped_household(request.user, household_no)
    declaration = services.save_declaration(household, _values(payload, payload.year), user=request.user,
                                            submit=payload.submit, channel=Channel.API)
    return Status(201, declaration)


@router.put("/declarations/{declaration_id}", response=DeclarationOut)
@requires(roles.DECLARE)
def correct(request, declaration_id: int, payload: DeclarationIn):
    """Correct a draft or returned declaration at the `version` you read (submit: resubmit it)."""
    declaration = services.get_declaration(request.user, declaration_id)
    services.save_declaration(declaration.household, _values(payload, declaration.year), user=request.user,
                              declaration=declaration, version=payload.version, submit=payload.submit,
                              channel=Channel.API)
    return services.get_declaration(request.user, declaration_id)


@router.post("/declarations/{declaration_id}/attachments", response={201: DeclarationOut})
@requires(roles.DECLARE)
def upload(request, declaration_id: int, kind: Form[str] = "", version: Form[str] = "",
           file: File[UploadedFile] = None):
    """Add a photo (multipart: kind = invoice or site, version, file: JPEG or PNG; the request at
    most CLEANHEAT_MAX_BODY_BYTES)."""
    declaration = services.get_declaration(request.user, declaration_id)
    if file is None:
        raise ValidationError({"file": ["请上传照片（JPEG 或 PNG）"]})
    data = {f: getattr(declaration, f) for f in services.DECLARED_FIELDS}
    services.save_declaration(declaration.household, data, [(kind, file)], user=request.user,
                              declaration=declaration, version=version, channel=Channel.API)
    return Status(201, services.get_declaration(request.user, declaration_id))


@router.post("/declarations/{declaration_id}/actions", response=DeclarationOut)
@requires(roles.SUBSIDIES)
def act(request, declaration_id: int, payload: DeclarationActionIn):
    """A move at the `version` you read: submit, review, return (opinions by section: invoice,
    install, attachments, other), resubmit, approve (county finance; approves the household's
    computed entitlements for the year). Another's action since then answers 422."""
    services.get_declaration(request.user, declaration_id)
    if payload.version is None:
        raise ValidationError({"version": ["请提供读取申报时的版本号（version）"]})
    services.act_on_declaration(declaration_id, payload.action, user=request.user, version=payload.version,
                                opinions=payload.opinions, note=payload.note, channel=Channel.API)
    return services.get_declaration(request.user, declaration_id)


# ---- policies and entitlements (read)

class PolicyItemOut(Schema):
    position: int
    kind: str
    label: str
    path: str
    device: str
    method: str
    share_pct: Decimal | None
    cap_yuan: Decimal | None
    fixed_yuan: Decimal | None
    rate_yuan: Decimal | None
    unit: str
    seasons: int | None
    central_pct: Decimal
    provincial_pct: Decimal
    city_pct: Decimal
    county_pct: Decimal
    description: str

    @staticmethod
    def resolve_description(obj):
        return obj.describe()


class TiltOut(Schema):
    position: int
    flag: str
    kind: str
    path: str
    share_pct: Decimal | None
    cap_yuan: Decimal | None
    extra_yuan: Decimal | None
    description: str

    @staticmethod
    def resolve_description(obj):
        return obj.describe()


class PolicyRow(Schema):
    id: int
    region: str
    region_name: str
    year: int
    version: int
    title: str
    document_no: str
    effective_from: date
    effective_until: date | None
    illustrative: bool
    replaces: int | None
    used: bool

    @staticmethod
    def resolve_region(obj):
        return obj.region_id

    @staticmethod
    def resolve_region_name(obj):
        return obj.region.name

    @staticmethod
    def resolve_replaces(obj):
        return obj.replaces_id

    @staticmethod
    def resolve_used(obj):
        return obj.is_used


class PolicyOut(PolicyRow):
    note: str
    items: list[PolicyItemOut]
    tilts: list[TiltOut]

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.all())

    @staticmethod
    def resolve_tilts(obj):
        return list(obj.tilts.all())


class PolicyFilters(Schema):
    year: int | None = None
    region: str = ""


class EntitlementOut(Schema):
    id: int
    year: int
    kind: str
    kind_label: str
    season: int
    unit: str
    policy: int
    policy_version: int
    amount_fen: int
    central_fen: int
    provincial_fen: int
    city_fen: int
    county_fen: int
    inputs: list[str]
    arithmetic: str
    status: str
    computed_at: datetime
    approved_at: datetime | None
    blocking: list[str]


@router.get("/policies", response=list[PolicyRow])
@requires(roles.SUBSIDIES)
def list_policies(request, filters: Query[PolicyFilters]):
    """The policy versions that apply to your area (the city's and your county's) and those of the
    counties inside it; by year and region (12-digit code of a city or county)."""
    rows = services.visible_policies(request.user)
    if filters.year:
        rows = rows.filter(year=filters.year)
    if filters.region:
        rows = rows.filter(region_id=filters.region)
    return list(rows.order_by("-year", "region_id", "version"))


@router.get("/policies/{policy_id}", response=PolicyOut)
@requires(roles.SUBSIDIES)
def get_policy(request, policy_id: int):
    """One version with its items (amounts in yuan, shares in %) and tilts, each also described."""
    return get_object_or_404(services.visible_policies(request.user).prefetch_related("items", "tilts"), pk=policy_id)


@router.get("/households/{household_no}/entitlements", response=list[EntitlementOut])
@requires(roles.SUBSIDIES)
def household_entitlements(request, household_no: str, year: int | None = None):
    """A household's entitlement lines (one year, or all): amounts and level shares in fen, the
    inputs and arithmetic written out, and `blocking`: why the line may not be paid now (empty:
    it may)."""
    household = scoped_household(request.user, household_no)
    lines = services.entitlements_for(request.user).filter(household=household).select_related("policy")
    if year:
        lines = lines.filter(year=year)
    lines = list(lines.order_by("year", "kind", "season", "unit"))
    blocked = payment_checks.blocking([e.pk for e in lines])
    return [{"id": e.pk, "year": e.year, "kind": e.kind, "kind_label": terms.KIND_LABELS[e.kind], "season": e.season,
             "unit": e.unit, "policy": e.policy_id, "policy_version": e.policy.version, "amount_fen": e.amount_fen,
             **{f: getattr(e, f) for f in Entitlement.LEVEL_FIELDS}, "inputs": e.input_lines(),
             "arithmetic": e.arithmetic, "status": e.status, "computed_at": e.computed_at,
             "approved_at": e.approved_at, "blocking": blocked.get(e.pk, [])} for e in lines]
