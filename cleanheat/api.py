"""The JSON API (Django Ninja): thin wrappers over the same queries and services as the UI.

Session authentication, whose writes carry the CSRF token like any form post; or a machine
client's API token (`Authorization: Bearer …`, cleanheat/accounts/tokens.py), which acts as its
integration user. OpenAPI at /api/docs (signed-in users only).
"""
import json
from datetime import date, datetime
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Schema, Status
from ninja.errors import HttpError, ValidationError as SchemaError
from ninja.openapi.docs import Swagger
from ninja.pagination import paginate
from ninja.parser import Parser
from ninja.security import django_auth

from cleanheat import errors, inputs
from cleanheat.access import has_perm, requires
from cleanheat.api_errors import DocumentedAPI, ErrorOut, Pages, StaleOut
from cleanheat.audit.services import record
from cleanheat.accounts import roles
from cleanheat.accounts.tokens import BearerToken, TokenRefused
from cleanheat.desk.api import router as desk_router
from cleanheat.inspections.api import router as inspections_router
from cleanheat.ledger import services
from cleanheat.ledger.choices import Channel, LifecycleState
from cleanheat.ledger.identity import looks_like_identifier
from cleanheat.ledger.queries import household_queryset, in_list_order, scoped_household
from cleanheat.ledger.rollup import region_rollup
from cleanheat.plan import dashboard as plan_dashboard
from cleanheat.plan import years
from cleanheat.procurement.api import router as procurement_router
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.service.api import router as service_router
from cleanheat.subsidies.api import router as subsidies_router
from cleanheat.regions.scope import require_in_scope, user_prefix
from cleanheat.versions import StaleEdit, etag, expected_version

SEARCH_BY_POST = ("身份证号、手机号等个人标识不能放在网址中（会留在访问日志里），"
                  "请改用 POST /api/households/search，在 JSON 请求体中传 {\"q\": \"…\"}")


def signed_in_only(view):
    """The schema and its docs page list every operation and field: only for signed-in users."""
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"detail": "请先登录"}, status=401)
        return view(request, *args, **kwargs)
    return guarded


class CheckedParser(Parser):
    """JSON as the standard has it (no NaN or Infinity), and no NUL or lone surrogate in any text:
    no database column can hold them, and no person typed them."""

    def parse_body(self, request):
        data = json.loads(request.body, parse_constant=_no_constant)
        if _unstorable(data):
            raise errors.BadInput(errors.UNSTORABLE)
        return data


def _no_constant(name):
    raise errors.BadInput(errors.NOT_JSON)


def _unstorable(value) -> bool:
    if isinstance(value, str):
        return inputs.unstorable(value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(_unstorable, value))
    return False


# Swagger UI from the ninja package's own static files ("ninja" is in INSTALLED_APPS, so its template
# names /static/ninja/…, never a CDN), without the validator badge that would call an outside host.
DOCS = Swagger(settings={"validatorUrl": None})
api = DocumentedAPI(title="CleanHeat 清洁取暖综合管理平台 API", version="1", auth=[BearerToken(), django_auth],
                    urls_namespace="api", parser=CheckedParser(), docs=DOCS, docs_decorator=signed_in_only)


@api.exception_handler(TokenRefused)
def token_refused(request, exc: TokenRefused):
    response = api.create_response(request, {"detail": exc.message}, status=exc.status_code)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc: PermissionDenied):
    record("denied", request=request, region_code=getattr(request.user, "region_scope", "") or "",
           target=request.path[:120], detail=str(exc))
    return api.create_response(request, {"detail": str(exc) or "您没有此项操作的权限"}, status=403)


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    # A refusal not tied to a field (ValidationError("…")) has no message_dict: it would answer 500.
    return _refused(request, exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})


def _refused(request, found: dict[str, list[str]]):
    """422 with every problem by field, and all of them in one Chinese sentence."""
    detail = "提交的数据不正确：" + "；".join(f"{field} {'、'.join(messages)}" for field, messages in found.items())
    return api.create_response(request, {"detail": detail, "errors": found}, status=422)


@api.exception_handler(StaleEdit)
def stale_edit(request, exc: StaleEdit):
    """If-Match named a version someone else has replaced: nothing written; here is what changed."""
    body = {"detail": exc.messages[0], "version": exc.version, "changes": [c.as_json() for c in exc.changes]}
    if exc.current is not None:
        body["current"] = exc.current
    response = api.create_response(request, body, status=412)
    response["ETag"] = etag(exc.version)
    return response


@api.exception_handler(SchemaError)
def schema_error(request, exc: SchemaError):
    return _refused(request, errors.schema_errors(exc.errors))


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return api.create_response(request, {"detail": errors.NOT_FOUND}, status=404)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """Ninja's own refusals (unreadable body, login, CSRF) read in Chinese like every other."""
    cause = exc.__cause__
    if isinstance(cause, errors.BadInput):
        detail = str(cause)
    elif exc.status_code == 400 and cause is not None:  # the body could not be parsed
        detail = errors.NOT_JSON
    elif str(exc).isascii():
        detail = errors.API_STATUS.get(exc.status_code, errors.BAD_REQUEST)
    else:
        detail = str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


class RegionOut(Schema):
    code: str
    name: str
    short_name: str = ""
    level: int
    kind: str
    parent: str | None


class RollupRow(Schema):
    code: str
    name: str
    total: int
    by_path: dict[str, int]
    by_state: dict[str, int]


class RollupOut(Schema):
    region: RegionOut
    year: int | None = None   # the plan year counted (None: all years)
    as_of: date
    total: int
    by_path: dict[str, int]
    by_state: dict[str, int]
    children: list[RollupRow]


class ProgressRow(Schema):
    code: str
    name: str
    target: int | None
    reached: dict[str, int]         # households at each state or further on
    expected: int | None            # installations the schedule expects by the date
    behind: int
    deadline: date | None
    days_left: int | None           # None once the deadline has passed (see finished)
    finished: bool                  # the unit's deadline has passed on the date
    finished_on: date | None        # the day its installations reached its target
    late_days: int | None           # days after its deadline it finished (0: on time)


class ProgressOut(Schema):
    region: RegionOut
    year: int
    plan: str
    as_of: date
    units: list[ProgressRow]


class HouseholdOut(Schema):
    household_no: str
    village: str
    village_name: str
    householder_name: str
    id_number: str
    phone: str
    electricity_account: str
    gas_account: str
    address: str
    household_size: int
    is_dibao: bool
    is_tekun: bool
    is_tuopin: bool
    is_canji: bool
    heated_area: float
    structure: str
    envelope_retrofitted: bool
    original_facility: str
    heating_path: str
    electric_device: str
    state: str
    plan_year: int                  # the yearly plan the household's conversion belongs to
    archived: bool
    updated_at: datetime
    version: int

    # Identifiers are masked by default; revealing one is a separate, logged action.
    @staticmethod
    def resolve_village(obj):
        return obj.village_id

    @staticmethod
    def resolve_village_name(obj):
        return obj.village.name

    @staticmethod
    def resolve_id_number(obj, context):
        return obj.id_number_masked if has_perm(context["request"].user, roles.SEE_ID) else ""

    @staticmethod
    def resolve_phone(obj):
        return obj.phone_masked

    @staticmethod
    def resolve_electricity_account(obj):
        return obj.electricity_account_masked

    @staticmethod
    def resolve_gas_account(obj):
        return obj.gas_account_masked


class HouseholdIn(Schema):
    village: str | None = None
    householder_name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    electricity_account: str | None = None
    gas_account: str | None = None
    address: str | None = None
    household_size: int | None = None
    is_dibao: bool | None = None
    is_tekun: bool | None = None
    is_tuopin: bool | None = None
    is_canji: bool | None = None
    heated_area: float | str | None = None
    structure: str | None = None
    envelope_retrofitted: bool | None = None
    original_facility: str | None = None
    heating_path: str | None = None
    electric_device: str | None = None
    heat_source: str | None = None
    removal_consent_on: date | None = None
    envelope_gain_pct: int | None = None
    plan_year: int | str | None = None   # default on create: the latest plan's year


class TransitionIn(Schema):
    to_state: str
    reason: str = ""
    occurred_on: date | None = None


class ReasonIn(Schema):
    reason: str = ""


class HouseholdFilters(Schema):
    region: str = ""
    path: str = ""
    state: str = ""
    flag: str = ""
    q: str = ""
    archived: bool = False


def _region_out(r: Region) -> dict:
    return {"code": r.code, "name": r.name, "short_name": r.short_name, "level": r.level, "kind": r.kind,
            "parent": r.parent_id}


def _scoped_region(request, code) -> Region:
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


@api.get("/regions", response={200: list[RegionOut], 404: ErrorOut}, tags=["行政区划 regions"])
@requires(roles.VIEW)
def list_regions(request, parent: str = ""):
    """Children of `parent` (a 12-digit code), or the top of the caller's area."""
    prefix = user_prefix(request.user)
    if parent:
        regions = _scoped_region(request, parent).children.all()
    else:
        regions = Region.objects.filter(code=prefix.ljust(12, "0")) if prefix else \
            Region.objects.filter(level=codes.CITY)
    return [_region_out(r) for r in regions if r.code.startswith(prefix)]


def _year_choice(region: Region, year: str, asof: str, *, allow_all: bool) -> years.Choice:
    """?year= (a plan year; "all" where allowed; default the latest plan as of the date) and
    ?asof= (YYYY-MM-DD, default today); anything else is answered 400 in Chinese."""
    choice = years.choose({"year": year, "asof": asof}, codes.full_code(region.code[:4]), allow_all=allow_all)
    if year and not choice.all_years and str(choice.year) != year.strip():
        known = "、".join(str(p.year) for p in choice.plans) or "无"
        raise HttpError(400, f"没有{inputs.shown(year)}年度的计划（现有：{known}）")
    if asof and choice.on.isoformat() != asof.strip():
        try:
            date.fromisoformat(asof.strip())
        except ValueError:
            raise HttpError(400, f"截至日期“{inputs.shown(asof)}”应为 YYYY-MM-DD 格式的日期") from None
    return choice


@api.get("/regions/{code}/rollup", response=RollupOut, tags=["行政区划 regions"])
@requires(roles.VIEW)
def rollup(request, code: str, year: str = "", asof: str = ""):
    """Households by heating path × lifecycle state for a region and each of its children: those of
    one plan year (`year`, default the latest plan; `all`: every year), as of `asof` (default today;
    a later date counts as today)."""
    region = _scoped_region(request, code)
    choice = _year_choice(region, year, asof, allow_all=True)
    data = region_rollup(region, year=choice.year, on=choice.on)
    paths = [p.value for p in data["paths"]]
    states = [s.value for s in data["states"]]

    def row(summary):
        return {"total": summary["total"], "by_path": dict(zip(paths, summary["paths"])),
                "by_state": dict(zip(states, summary["states"]))}

    return {"region": _region_out(region), "year": choice.year, "as_of": choice.on, **row(data["node"]),
            "children": [{"code": c["region"].code, "name": c["region"].name, **row(c)}
                         for c in data["children"]]}


@api.get("/regions/{code}/progress", response=ProgressOut, tags=["行政区划 regions"])
@requires(roles.VIEW)
def progress(request, code: str, year: str = "", asof: str = ""):
    """Each child unit's progress against its target in one plan year (`year`, default the latest
    plan) as of `asof` (default today): households at each state or further on, the installations
    its schedule expects, how far behind; once its deadline has passed, the day it finished and how
    many days late."""
    region = _scoped_region(request, code)
    choice = _year_choice(region, year, asof, allow_all=False)
    if choice.plan is None:
        raise HttpError(404, "没有年度计划")
    states = list(LifecycleState.values)
    units = []
    for r in plan_dashboard.progress_rows(region, choice.plan, choice.on, None):
        outcome = r.get("outcome")
        units.append({"code": r["region"].code, "name": r["region"].name, "target": r["target"],
                      "reached": dict(zip(states, r["reached"])), "expected": r.get("expected"),
                      "behind": r["behind"], "deadline": r.get("deadline"),
                      "days_left": r["days_left"] if r.get("days_left", -1) >= 0 else None,
                      "finished": outcome is not None,
                      "finished_on": outcome["finished_on"] if outcome else None,
                      "late_days": outcome["late_days"] if outcome else None})
    return {"region": _region_out(region), "year": choice.year, "plan": choice.plan.name, "as_of": choice.on,
            "units": units}


@api.get("/households", response=list[HouseholdOut], tags=["居民用户 households"])
@paginate(Pages, page_size=50)
@requires(roles.VIEW)
def list_households(request, filters: Query[HouseholdFilters]):
    """Households in the caller's scope, filtered; `q` searches names and household numbers.

    A `q` that holds an ID number, bank card or mobile is refused with 400 (it would stay in
    access logs): search by those with POST /api/households/search instead. Refusing, rather
    than ignoring the term, keeps a client from taking the unfiltered list for its result."""
    if looks_like_identifier(filters.q):
        raise HttpError(400, SEARCH_BY_POST)
    return in_list_order(household_queryset(request.user, **filters.dict()), request.user, filters.region)


@api.post("/households/search", response=list[HouseholdOut], tags=["居民用户 households"])
@paginate(Pages, page_size=50)
@requires(roles.VIEW)
def search_households(request, filters: HouseholdFilters):
    """The same list and filters as GET /api/households, sent as a JSON body, so that a search by
    ID number or mobile (`{"q": "14090219…"}`) never appears in a URL. `page` stays in the query."""
    return in_list_order(household_queryset(request.user, **filters.dict()), request.user, filters.region)


@api.get("/households/{household_no}", response=HouseholdOut, tags=["居民用户 households"])
@requires(roles.VIEW)
def get_household(request, household_no: str, response: HttpResponse):
    household = scoped_household(request.user, household_no)
    response["ETag"] = etag(household.version)
    return household


@api.post("/households", response={201: HouseholdOut}, tags=["居民用户 households"])
@requires(roles.EDIT)
def create_household(request, payload: HouseholdIn):
    household = services.create_household(payload.dict(exclude_none=True), user=request.user,
                                          channel=Channel.API)
    return Status(201, scoped_household(request.user, household.household_no))


@api.patch("/households/{household_no}", response={200: HouseholdOut, 412: StaleOut}, tags=["居民用户 households"])
@requires(roles.EDIT)
def update_household(request, household_no: str, payload: HouseholdIn, response: HttpResponse):
    """Send the ETag of your last read as If-Match: a save on an older version answers 412 with
    what changed since, and nothing is written. Only the fields sent change; `null` clears a field
    that may be empty (phone, bank account, address, device type, heat source, consent date, gain)."""
    household = scoped_household(request.user, household_no)
    services.update_household(household, payload.dict(exclude_unset=True), user=request.user,
                              channel=Channel.API, expected_version=expected_version(request))
    household = scoped_household(request.user, household_no)
    response["ETag"] = etag(household.version)
    return household


@api.post("/households/{household_no}/transition", response=HouseholdOut, tags=["居民用户 households"])
@requires(roles.LIFECYCLE)
def transition(request, household_no: str, payload: TransitionIn):
    household = scoped_household(request.user, household_no)
    services.transition(household, payload.to_state, user=request.user, channel=Channel.API,
                        reason=payload.reason, occurred_on=payload.occurred_on)
    return scoped_household(request.user, household_no)


@api.post("/households/{household_no}/archive", response=HouseholdOut, tags=["居民用户 households"])
@requires(roles.ARCHIVE)
def archive(request, household_no: str, payload: ReasonIn):
    services.archive_household(scoped_household(request.user, household_no), reason=payload.reason,
                               user=request.user, channel=Channel.API)
    return scoped_household(request.user, household_no)


@api.post("/households/{household_no}/restore", response=HouseholdOut, tags=["居民用户 households"])
@requires(roles.ARCHIVE)
def restore(request, household_no: str, payload: ReasonIn):
    services.restore_household(scoped_household(request.user, household_no), reason=payload.reason,
                               user=request.user, channel=Channel.API)
    return scoped_household(request.user, household_no)


api.add_router("/procurement", procurement_router)
api.add_router("/subsidies", subsidies_router)
api.add_router("/desk", desk_router)
api.add_router("/inspections", inspections_router)
api.add_router("/service", service_router)
