from django.shortcuts import get_object_or_404, redirect, render

from cleanheat.access import any_user, requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.queries import household_queryset
from cleanheat.procurement.batch import sizing_rollup

from . import codes
from .models import Region
from .rollup import counts_by_unit
from .scope import NOTHING, require_in_scope, user_prefix


@any_user
def home(request):
    """Start at the top of the user's own area."""
    prefix = user_prefix(request.user)
    if prefix == NOTHING:
        return render(request, "regions/no_scope.html")
    root = Region.objects.filter(level=codes.CITY).first() if not prefix else \
        Region.objects.filter(code=codes.full_code(prefix)).first()
    if root is None:
        return render(request, "regions/no_scope.html")
    return redirect("region", code=root.code)


def summarise(counts: dict, paths, states) -> dict:
    return {
        "total": sum(counts.values()),
        "paths": [sum(n for (p, _), n in counts.items() if p == path) for path in paths],
        "states": [sum(n for (_, s), n in counts.items() if s == state) for state in states],
    }


def region_rollup(region: Region) -> dict:
    """The node's own totals and one row per child, by heating path and lifecycle state."""
    paths, states = list(HeatingPath.values), list(LifecycleState.values)
    unit_length = codes.PREFIX_LENGTH[min(region.level + 1, codes.VILLAGE)]
    counts = counts_by_unit(region.prefix, unit_length)
    node = {}
    for unit_counts in counts.values():
        for key, n in unit_counts.items():
            node[key] = node.get(key, 0) + n
    node_summary = summarise(node, paths, states)
    shown = [i for i, n in enumerate(node_summary["paths"]) if n] or [0]

    def keep(summary):  # only the paths present at this node get a column
        return {**summary, "paths": [summary["paths"][i] for i in shown]}

    children = []
    if region.level < codes.VILLAGE:
        for child in region.children.all():
            children.append({"region": child, **keep(summarise(counts.get(child.prefix, {}), paths, states))})
    return {
        "paths": [HeatingPath(paths[i]) for i in shown],
        "states": [LifecycleState(s) for s in states],
        "node": keep(node_summary),
        "children": children,
    }


@requires(VIEW)
def region_page(request, code):
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    context = {"region": region, "ancestors": [a for a in region.ancestors()
                                               if a.code.startswith(user_prefix(request.user))],
               "rollup": region_rollup(region), "sizing": sizing_rollup(region)}
    if region.level == codes.VILLAGE:
        context["households"] = household_queryset(request.user, region=region.code)[:200]
    return render(request, "regions/region.html", context)


def counties_for(user):
    prefix = user_prefix(user)
    return [r for r in Region.objects.filter(level=codes.COUNTY)
            if r.code.startswith(prefix[:6]) and prefix != NOTHING]


@requires(VIEW)
def village_picker(request):
    """The village <select> for one county, grouped by township, within the user's scope (htmx)."""
    county = request.GET.get("county", "")
    prefix = user_prefix(request.user)
    groups = []
    if county.isdigit() and len(county) == 6 and prefix != NOTHING:
        villages = Region.objects.filter(level=codes.VILLAGE, code__startswith=county) \
            .filter(code__startswith=prefix).select_related("parent")
        for village in villages:
            if not groups or groups[-1][0] != village.parent:
                groups.append((village.parent, []))
            groups[-1][1].append(village)
    return render(request, "regions/village_select.html",
                  {"groups": groups, "selected": request.GET.get("village", "")})
