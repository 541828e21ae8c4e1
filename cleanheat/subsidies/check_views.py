"""Pages of the checks before money leaves and of cost parity: the subsidy section of the
compliance view (loaded into it by htmx, so the rules' cached scan is untouched) and the
cost-parity table of the heating paths (§三(六))."""
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render

from cleanheat.access import requires, user_prefix
from cleanheat.accounts import roles
from cleanheat.ledger.choices import HeatingPath
from cleanheat.procurement.models import Advice
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q, require_in_scope

from . import parity, payment_checks, payment_rules

SHOWN = 300


def _region(request, code):
    code = code or codes.full_code(user_prefix(request.user) or "1409")
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


@requires(roles.SUBSIDIES)
def payment_problems(request, code):
    """The compliance view's subsidy section: problems of the area's approved lines by check, and
    the lines (first SHOWN) of the check asked for."""
    region = _region(request, code)
    found = payment_checks.findings(region.prefix)
    rule = request.GET.get("subsidy_rule", "")
    detail = [f for f in found if f.rule == rule] if rule in payment_rules.RULES else []
    names = dict(Region.objects.filter(code__in={f.village for f in detail[:SHOWN]}).values_list("code", "name"))
    return render(request, "subsidies/_payment_checks.html", {
        "region": region, "counts": payment_checks.summary(found), "lines": len({f.entitlement_id for f in found}),
        "rule": rule, "rule_name": payment_rules.RULES.get(rule, ""), "detail_count": len(detail),
        "detail": [(f, names.get(f.village, f.village)) for f in detail[:SHOWN]], "shown": SHOWN})


def cost_rows(prefix: str) -> list[tuple]:
    """(path, families with a figure, sum of their yearly net costs in yuan) of the area's active
    households, from the advisor's stored figures."""
    rows = (Advice.objects.filter(code_q("village_code", prefix), household__archived=False,
                                  own_path_cost__isnull=False)
            .values("household__heating_path").annotate(n=Count("pk"), total=Sum("own_path_cost")).order_by())
    return [(r["household__heating_path"], r["n"], float(r["total"])) for r in rows]


@requires(roles.SUBSIDIES)
def cost_parity(request, code=None):
    region = _region(request, code)
    table = parity.parity(cost_rows(region.prefix), {c: str(label) for c, label in HeatingPath.choices})
    children = [r for r in region.children.order_by("code")] if region.level < codes.TOWNSHIP else []
    return render(request, "subsidies/parity.html", {"region": region, "table": table, "children": children})
