"""Bottom-up confirmation of the ledger for the city assessment (《实施方案》五(四)): a village's
ledger is confirmed by its township, a township's by its county, a county's by the city; a unit is
approved only when every unit below it that holds households of the year is; approved data is locked
(`evidence.lock_problem`, asked by the rules on every write) until the approving level reopens it
with a reason, which reopens the units above it too."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from cleanheat import inputs
from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region
from cleanheat.regions.scope import NOTHING, code_q, user_prefix

from .models import LedgerApproval
from .rounds import area_prefix

BELOW = {4: 6, 6: 9, 9: 12}
ABOVE = {12: 9, 9: 6, 6: 4}
LEVEL_NAMES = {12: "村", 9: "乡镇", 6: "县", 4: "市"}


def children(prefix: str, year: int) -> list[str]:
    """The 12-digit codes of the units one level below `prefix` holding households of the year."""
    n = BELOW[len(prefix)]
    villages = Household.objects.filter(code_q("village_id", prefix), plan_year=year, archived=False) \
        .values_list("village_id", flat=True).distinct()
    return sorted({v[:n].ljust(12, "0") for v in villages})


def may_approve(user, prefix: str) -> bool:
    """The level above the unit (or higher) approves it; the city's own ledger, the city."""
    if user is None or user.is_superuser:
        return True
    own = user_prefix(user)
    above = prefix[:ABOVE[len(prefix)]] if len(prefix) in ABOVE else prefix
    return own != NOTHING and above.startswith(own)


def status(year: int, prefix: str) -> list[dict]:
    """The units below `prefix` with households of the year, each with its approval."""
    codes = children(prefix, year) if len(prefix) in BELOW else []
    found = {a.region_code: a for a in LedgerApproval.objects.filter(year=year, region_code__in=codes)
             .select_related("approved_by")}
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c), "approval": found.get(c)} for c in codes]


@transaction.atomic
def approve(year: int, region_code: str, *, user=None) -> LedgerApproval:
    prefix = area_prefix(region_code)
    code = prefix.ljust(12, "0")
    if not may_approve(user, prefix):
        raise ValidationError({"__all__": [f"{LEVEL_NAMES[len(prefix)]}级台账须由上一级确认"]})
    if len(prefix) in BELOW:
        below = children(prefix, year)
        done = set(LedgerApproval.objects.filter(year=year, region_code__in=below, approved=True)
                   .values_list("region_code", flat=True))
        missing = [c for c in below if c not in done]
        if missing:
            names = dict(Region.objects.filter(code__in=missing[:10]).values_list("code", "name"))
            listed = "、".join(names.get(c, c) for c in missing[:10]) + ("等" if len(missing) > 10 else "")
            level = LEVEL_NAMES[BELOW[len(prefix)]]
            message = f"还有{len(missing)}个{level}未确认：{listed}；下级全部确认后才能确认本级"
            raise ValidationError({"__all__": [message]})
    figures = dict(Household.objects.filter(code_q("village_id", prefix), plan_year=year, archived=False)
                   .values_list("state").annotate(n=Count("id")).order_by())
    approval, _ = LedgerApproval.objects.update_or_create(year=year, region_code=code, defaults={
        "approved": True, "approved_by": user, "figures": figures, "reopen_reason": ""})
    return approval


@transaction.atomic
def reopen(year: int, region_code: str, *, reason: str, user=None) -> list[str]:
    """Reopen an approved unit (the approving level, with a reason) and every approved unit above it."""
    prefix = area_prefix(region_code)
    if not may_approve(user, prefix):
        raise ValidationError({"__all__": ["只有确认本级台账的上一级单位可以重新打开"]})
    try:
        reason = inputs.text(reason, "重新打开的原因", max_length=200)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None
    if not reason:
        raise ValidationError({"reason": ["重新打开须填写原因"]})
    codes = [prefix[:n].ljust(12, "0") for n in (12, 9, 6, 4) if n <= len(prefix)]
    opened = list(LedgerApproval.objects.filter(year=year, region_code__in=codes, approved=True)
                  .values_list("region_code", flat=True))
    if prefix.ljust(12, "0") not in opened:
        raise ValidationError({"__all__": ["本级台账尚未确认"]})
    LedgerApproval.objects.filter(year=year, region_code__in=opened).update(approved=False, reopen_reason=reason)
    return sorted(opened)


def approved_codes(year: int | None, codes: list[str]) -> frozenset:
    """Of the given 12-digit unit codes, those whose ledger of the year stands confirmed (locked): the
    units whose figures the dashboard shows when asked for approved figures only."""
    if year is None or not codes:
        return frozenset()
    return frozenset(LedgerApproval.objects.filter(year=year, region_code__in=codes, approved=True)
                     .values_list("region_code", flat=True))
