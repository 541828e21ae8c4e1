"""The region pages: the ledger's five-level rollup beside procurement's sizing rollup, and the
region pickers.

Its own small app above both, so that neither the ledger nor the regions import procurement, and
the regions (the ground floor) import no other app."""
from django.shortcuts import get_object_or_404, redirect, render

from cleanheat.access import any_user, requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import region_rollup, slow_to_count
from cleanheat.procurement.batch import sizing_rollup
from cleanheat.regions import codes
from cleanheat.regions import services as region_changes
from cleanheat.regions.models import Region, RegionSource
from cleanheat.regions.scope import NOTHING, require_in_scope, user_prefix


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


def _scoped_region(request, code) -> Region:
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    return region


def _figures(region, *, may_defer: bool) -> dict | None:
    """The ledger's and the sizing rollups; None (the page loads them separately) when they are
    not cached and would take a while."""
    rollup, sizing = region_rollup(region, only_if_cached=True), sizing_rollup(region, only_if_cached=True)
    if (rollup is None or sizing is None) and may_defer and slow_to_count(region):
        return None
    return {"rollup": rollup or region_rollup(region), "sizing": sizing or sizing_rollup(region)}


@requires(VIEW)
def region_page(request, code):
    region = _scoped_region(request, code)
    figures = _figures(region, may_defer=True)
    context = {"region": region, "ancestors": [a for a in region.ancestors()
                                               if a.code.startswith(user_prefix(request.user))],
               "region_source": RegionSource.objects.filter(city_code=region.code[:4]).first(),
               "deferred": figures is None, "region_changes": region_changes.changes_under(region),
               **(figures or {})}
    if region.level == codes.VILLAGE:
        context["households"] = household_queryset(request.user, region=region.code)[:200]
    return render(request, "regions/region.html", context)


@requires(VIEW)
def region_figures(request, code):
    """The region page's rollups on their own (htmx), for a page that answered before computing them."""
    region = _scoped_region(request, code)
    return render(request, "regions/region.html#figures",
                  {"region": region, "oob_total": True, **_figures(region, may_defer=False)})


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
