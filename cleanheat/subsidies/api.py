"""JSON API of the subsidies module, mounted on the main API: computing entitlements as a job, and
declaration and review (申报审核): list and read declarations in scope, declare (JSON, then photos
as multipart), correct, and the moves (submit, review, return with opinions, resubmit, approve).
Funds and payment batches: payment_api."""
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import PageNumberPagination, paginate

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.jobs.schemas import JobOut, started
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household

from . import batch, services
from .payment_api import router as payment_router
from . import declaration_flow as flow

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


class DeclarationOut(Schema):
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
    attachments: list[dict] = []
    history: list[StepOut] = []


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


class ActionIn(Schema):
    action: str = ""
    version: int | None = None
    opinions: dict[str, str] = {}
    note: str = ""


def _out(d, *, full=False) -> dict:
    out = {"id": d.pk, "household_no": d.household.household_no, "village": d.village_code, "year": d.year,
           "invoice_no": d.invoice_no, "purchase_fen": d.purchase_fen, "installer": d.installer,
           "installed_on": d.installed_on, "status": d.status, "status_label": flow.STATE_LABELS[d.status],
           "version": d.version, "over_purchase": d.over_purchase}
    if full:
        out["attachments"] = [{"id": a.pk, "kind": a.kind, "name": a.original_name, "size": a.size}
                              for a in d.attachments.all()]
        out["history"] = [{"at": s.at, "action": s.action, "level": s.level, "user": s.user.username if s.user else "",
                           "from_status": s.from_status, "to_status": s.to_status, "opinions": s.opinions,
                           "note": s.note} for s in d.steps.select_related("user").order_by("at", "pk")]
    return out


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
@paginate(PageNumberPagination, page_size=50)
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
    return _out(services.get_declaration(request.user, declaration_id), full=True)


@router.post("/households/{household_no}/declarations", response={201: DeclarationOut})
@requires(roles.DECLARE)
def declare(request, household_no: str, payload: DeclarationIn):
    """Declare a household's subsidy for a year (a draft: upload the invoice and on-site photos,
    then submit). purchase_yuan: the amount in yuan as a string ("12800.00")."""
    household = scoped_household(request.user, household_no)
    declaration = services.save_declaration(household, _values(payload, payload.year), user=request.user,
                                            submit=payload.submit, channel=Channel.API)
    return Status(201, _out(declaration, full=True))


@router.put("/declarations/{declaration_id}", response=DeclarationOut)
@requires(roles.DECLARE)
def correct(request, declaration_id: int, payload: DeclarationIn):
    """Correct a draft or returned declaration at the `version` you read (submit: resubmit it)."""
    declaration = services.get_declaration(request.user, declaration_id)
    services.save_declaration(declaration.household, _values(payload, declaration.year), user=request.user,
                              declaration=declaration, version=payload.version, submit=payload.submit,
                              channel=Channel.API)
    return _out(services.get_declaration(request.user, declaration_id), full=True)


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
    return Status(201, _out(services.get_declaration(request.user, declaration_id), full=True))


@router.post("/declarations/{declaration_id}/actions", response=DeclarationOut)
@requires(roles.SUBSIDIES)
def act(request, declaration_id: int, payload: ActionIn):
    """A move at the `version` you read: submit, review, return (opinions by section: invoice,
    install, attachments, other), resubmit, approve (county finance; approves the household's
    computed entitlements for the year). Another's action since then answers 422."""
    services.get_declaration(request.user, declaration_id)
    if payload.version is None:
        raise ValidationError({"version": ["请提供读取申报时的版本号（version）"]})
    services.act_on_declaration(declaration_id, payload.action, user=request.user, version=payload.version,
                                opinions=payload.opinions, note=payload.note, channel=Channel.API)
    return _out(services.get_declaration(request.user, declaration_id), full=True)
