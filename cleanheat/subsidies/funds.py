"""Funds of a county for a year (资金到位): what each level has sent (by source, with the document
and date), what is committed (approved entitlements), paid and recovered, and the limit it sets
on approving: a county approves only within the funds received plus what the city has allowed
beyond them by a recorded override (FundOverride). Writes are city finance's (roles.FUNDS).

The limit is on the total of the county's year, not per level: the levels' shares of a line are
paid together to the household from the county's special account (专户), so a level whose money
is late does not hold up the others' shares; the clearing shows each level's balance.
"""
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat import inputs
from cleanheat.access import require_perm, scope_filter
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import NOTHING, code_q, in_scope, user_prefix

from . import terms
from .models import (
    Entitlement,
    FundLine,
    FundOverride,
    Level,
    LineStatus,
    PaymentLine,
    Status,
)

IN_CHUNK = 5000
FIELD_LABELS = {"county": "县（市、区）", "year": "年度", "level": "资金层级", "source": "资金来源",
                "document_no": "文号", "received_on": "到位日期", "amount_fen": "金额", "reason": "理由"}
TEXT_LIMITS = {"source": 80, "document_no": 80, "note": 200, "reason": 200}


def counties_in(user) -> list[Region]:
    """The counties whose funds the user may read (a county user: their own)."""
    prefix = user_prefix(user)
    if prefix == NOTHING or len(prefix) > 6:
        return []
    return [r for r in Region.objects.filter(level=codes.COUNTY).order_by("code") if r.code.startswith(prefix)]


def county_of(user, value) -> Region:
    """A county in the user's scope by its 12-digit code or 6-digit prefix; else refused."""
    value = str(value or "").strip()
    code = codes.full_code(value) if value.isascii() and value.isdigit() and len(value) in (6, 12) else ""
    region = Region.objects.filter(code=code, level=codes.COUNTY).first() if code else None
    if region is None or (user is not None and not in_scope(user, region.code)):
        raise ValidationError({"county": ["请选择本人管辖范围内的县（市、区）"]})
    return region


def fund_lines_for(user):
    return scope_filter(FundLine.objects.all(), user, "county_code")


def overrides_for(user):
    return scope_filter(FundOverride.objects.all(), user, "county_code")


def _text_problems(data: dict) -> dict:
    problems = {}
    for field, limit in TEXT_LIMITS.items():
        value = str(data.get(field) or "")
        if len(value) > limit:
            problems[field] = [f"{FIELD_LABELS.get(field, '说明')}过长（最多{limit}个字）"]
        elif inputs.unprintable(value):
            problems[field] = [f"{FIELD_LABELS.get(field, '说明')}含有不可见的控制字符，请删除后重新填写"]
    return problems


def _year_problem(year) -> dict:
    if not isinstance(year, int) or not 2000 <= year <= timezone.localdate().year + 1:
        return {"year": ["年度应为2000年至明年之间的四位数字"]}
    return {}


def _checked_common(data: dict, user) -> tuple[dict, dict, object]:
    """What a fund line and an override share: texts trimmed, the year, the texts' limits and the
    county in the user's scope checked. (data, problems by field, the county or None)."""
    data = {**data, **{f: str(data.get(f) or "").strip() for f in TEXT_LIMITS}}
    problems = _year_problem(data.get("year")) | _text_problems(data)
    try:
        county = county_of(user, data.get("county"))
    except ValidationError as error:
        problems |= error.message_dict
        county = None
    return data, problems, county


@transaction.atomic
def record_fund(data: dict, *, user) -> FundLine:
    """Record money received: data {county, year, level, source, document_no, received_on,
    amount_fen, note}; user None: the system (the demo). Refused with ValidationError naming the
    field; nothing written."""
    if user is not None:
        require_perm(user, roles.FUNDS)
    data, problems, county = _checked_common(data, user)
    if data.get("level") not in Level.values:
        problems["level"] = ["资金层级应为中央、省级、市级或县级"]
    for field in ("source", "document_no"):
        if not data[field] and field not in problems:
            problems[field] = [f"请填写{FIELD_LABELS[field]}"]
    if not isinstance(data.get("received_on"), date):
        problems["received_on"] = ["请填写到位日期"]
    elif data["received_on"] > timezone.localdate():
        problems["received_on"] = ["到位日期不能晚于今天"]
    amount = data.get("amount_fen")
    if not isinstance(amount, int) or amount <= 0:
        problems["amount_fen"] = ["金额应大于0"]
    if problems:
        raise ValidationError(problems)
    line = FundLine.objects.create(county_code=county.code, year=data["year"], level=data["level"],
                                   source=data["source"], document_no=data["document_no"],
                                   received_on=data["received_on"], amount_fen=amount, note=data["note"],
                                   created_by=user)
    record("subsidy_funds", user=user, region_code=county.code, target=f"{county.name}{line.year}年度到位资金",
           detail=f"{terms.LEVEL_LABELS[line.level]}{line.source} {terms.yuan(amount)}元（{line.document_no}，"
                  f"{line.received_on.isoformat()}到位）")
    return line


@transaction.atomic
def grant_override(data: dict, *, user) -> FundOverride:
    """The city allows a county to approve beyond its funds by amount_fen (data {county, year,
    amount_fen, reason, document_no}); recorded and audited."""
    require_perm(user, roles.FUNDS)
    if len(user_prefix(user)) > 4:
        raise ValidationError({"county": ["超出资金审核须由市财政局批准"]})
    data, problems, county = _checked_common(data, user)
    if not data["reason"] and "reason" not in problems:
        problems["reason"] = ["请填写允许超出资金审核的理由"]
    amount = data.get("amount_fen")
    if not isinstance(amount, int) or amount <= 0:
        problems["amount_fen"] = ["金额应大于0"]
    if problems:
        raise ValidationError(problems)
    override = FundOverride.objects.create(county_code=county.code, year=data["year"], amount_fen=amount,
                                           reason=data["reason"], document_no=data["document_no"], granted_by=user)
    record("subsidy_funds", user=user, region_code=county.code, target=f"{county.name}{override.year}年度超出资金审核",
           detail=f"允许超出到位资金审核{terms.yuan(amount)}元；理由：{override.reason}")
    return override


def standing(county_code: str, year: int) -> dict:
    """A county's year in fen: received (total and per level), allowed beyond it, committed
    (approved), paid, recovered, and the room left for approving."""
    received = dict(FundLine.objects.filter(county_code=county_code, year=year).values_list("level")
                    .annotate(n=Sum("amount_fen")).order_by())
    allowed = FundOverride.objects.filter(county_code=county_code, year=year).aggregate(n=Sum("amount_fen"))["n"] or 0
    lines = Entitlement.objects.filter(code_q("village_code", county_code[:6]), year=year)
    committed = lines.filter(status=Status.APPROVED).aggregate(n=Sum("amount_fen"))["n"] or 0
    payments = PaymentLine.objects.filter(code_q("village_code", county_code[:6]), entitlement__year=year)
    paid = payments.filter(status__in=(LineStatus.PAID, LineStatus.RECOVERED)).aggregate(n=Sum("amount_fen"))["n"] or 0
    recovered = payments.filter(status=LineStatus.RECOVERED).aggregate(n=Sum("recovered_fen"))["n"] or 0
    total = sum(received.values())
    return {"received": {lv: received.get(lv, 0) for lv in terms.LEVELS}, "received_total": total,
            "allowed": allowed, "committed": committed, "paid": paid, "recovered": recovered,
            "room": total + allowed - committed}


def check_room(entitlement_ids: list[int]) -> None:
    """Before computed lines are approved: per county and year, the approved total with them stays
    within the funds received plus the city's overrides. Refused naming the county and the sums."""
    adding: dict[tuple[str, int], int] = {}
    for start in range(0, len(entitlement_ids), IN_CHUNK):
        rows = (Entitlement.objects.filter(pk__in=entitlement_ids[start:start + IN_CHUNK])
                .annotate(county=Substr("village_code", 1, 6)).values_list("county", "year")
                .annotate(n=Sum("amount_fen")).order_by())
        for county, year, n in rows:
            adding[(county, year)] = adding.get((county, year), 0) + (n or 0)
    problems = []
    for (county, year), amount in sorted(adding.items()):
        code = codes.full_code(county)
        now = standing(code, year)
        if amount > now["room"]:
            name = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
            problems.append(
                f"{name}{year}年度到位资金{terms.yuan(now['received_total'])}元"
                + (f"（另经市财政批准可超出{terms.yuan(now['allowed'])}元）" if now["allowed"] else "")
                + f"，已审核{terms.yuan(now['committed'])}元，本次审核{terms.yuan(amount)}元，"
                f"超出{terms.yuan(amount - now['room'])}元：未审核。请市财政局录入到位资金或批准超出资金审核")
    if problems:
        raise ValidationError(problems)
