"""The region pages: the ledger's five-level rollup beside procurement's sizing rollup, and the
region pickers.

Its own small app above both, so that neither the ledger nor the regions import procurement, and
the regions (the ground floor) import no other app."""
from django.shortcuts import get_object_or_404, redirect, render

from cleanheat.access import any_user, requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import region_rollup
from cleanheat.procurement.batch import sizing_rollup
from cleanheat.regions import codes
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


@requires(VIEW)
def region_page(request, code):
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    context = {"region": region, "ancestors": [a for a in region.ancestors()
                                               if a.code.startswith(user_prefix(request.user))],
               "rollup": region_rollup(region), "sizing": sizing_rollup(region),
               "region_source": RegionSource.objects.filter(city_code=region.code[:4]).first()}
    if region.level == codes.VILLAGE:
        context["households"] = household_queryset(request.user, region=region.code)[:200]
    return render(request, "regions/region.html", context)


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
