"""JSON API of funds and payment batches (mounted under /api/subsidies/ by subsidies.api): the
funds and standing of the counties in scope, batches (list, detail, create from a county's queue
or from given entitlements). The bank file itself is not here: it stays the logged download of
the batch page."""
from datetime import date, datetime

from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.api_errors import Pages

from . import funds, payments

router = Router(tags=["补贴资金 subsidies"])


class FundLineOut(Schema):
    id: int
    county_code: str
    year: int
    level: str
    source: str
    document_no: str
    received_on: date
    amount_fen: int


class StandingOut(Schema):
    county_code: str
    county: str
    year: int
    received_fen: dict[str, int]
    received_total_fen: int
    allowed_fen: int
    committed_fen: int
    paid_fen: int
    recovered_fen: int
    room_fen: int


class FundsOut(Schema):
    lines: list[FundLineOut]
    counties: list[StandingOut]


@router.get("/funds", response=FundsOut)
@requires(roles.CLEARING)
def list_funds(request, year: int | None = None):
    """Funds received in the year by the counties in scope (each receipt), and each county's
    standing: received per level, allowed beyond by the city, committed, paid, recovered, room."""
    year = year or timezone.localdate().year
    counties = []
    for county in funds.counties_in(request.user):
        now = funds.standing(county.code, year)
        counties.append({"county_code": county.code, "county": county.name, "year": year,
                         "received_fen": now["received"], "received_total_fen": now["received_total"],
                         "allowed_fen": now["allowed"], "committed_fen": now["committed"], "paid_fen": now["paid"],
                         "recovered_fen": now["recovered"], "room_fen": now["room"]})
    return {"lines": list(funds.fund_lines_for(request.user).filter(year=year)), "counties": counties}


class BatchRow(Schema):
    id: int
    number: str
    county_code: str
    year: int
    status: str
    line_count: int
    total_fen: int
    created_at: datetime
    exported_at: datetime | None
    file_hash: str
    closed_at: datetime | None


class LineOut(Schema):
    row_no: int
    entitlement_id: int
    household_no: str
    name: str
    card_masked: str
    item: str
    amount_fen: int
    status: str
    reason: str
    recovered_fen: int

    @staticmethod
    def resolve_household_no(obj):
        return obj.household.household_no


class BatchOut(BatchRow):
    totals: dict[str, dict[str, int]]
    lines: list[LineOut]


class BatchFilters(Schema):
    year: int | None = None
    status: str | None = None


class BatchIn(Schema):
    county: str
    year: int
    entitlement_ids: list[int] | None = None


class CreatedOut(Schema):
    batch: BatchRow
    left_out: list[str]


@router.get("/batches", response=list[BatchRow])
@paginate(Pages, page_size=50)
@requires(roles.CLEARING)
def list_batches(request, filters: Query[BatchFilters]):
    rows = payments.batches_for(request.user)
    if filters.year:
        rows = rows.filter(year=filters.year)
    if filters.status:
        rows = rows.filter(status=filters.status)
    return rows


@router.get("/batches/{batch_id}", response=BatchOut)
@requires(roles.CLEARING)
def get_batch(request, batch_id: int):
    """A batch with its lines (bank cards masked) and counts and fen per line status."""
    batch = payments.get_batch(request.user, batch_id)
    return {**{f: getattr(batch, f) for f in BatchRow.model_fields}, "totals": payments.batch_totals(batch),
            "lines": list(batch.lines.select_related("household").order_by("row_no"))}


@router.post("/batches", response={201: CreatedOut})
@requires(roles.PAY)
def create_batch(request, payload: BatchIn):
    """A batch of a county's approved lines for the year: the given entitlement ids (any with a
    problem refuses the whole batch, each named), or without ids every line of the queue that has
    no problem (those left out are listed with their reasons)."""
    batch, left_out = payments.create_batch(request.user, payload.county, payload.year, payload.entitlement_ids)
    return Status(201, {"batch": batch, "left_out": left_out})

