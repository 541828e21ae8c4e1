"""The region pages: the ledger's five-level rollup beside procurement's sizing rollup, and the
region pickers.

Its own small app above both, so that neither the ledger nor the regions import procurement, and
the regions (the ground floor) import no other app."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from cleanheat.access import any_user, requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import region_rollup, slow_to_count
from cleanheat.plan import years
from cleanheat.procurement.batch import sizing_rollup
from cleanheat.regions import codes, places
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


def _figures(region, choice: years.Choice, *, may_defer: bool) -> dict | None:
    """The ledger's rollup (the chosen plan year's households, as of the chosen date) and the
    sizing rollup; None (the page loads them separately) when they are not cached and would take
    a while."""
    def rollup(only_if_cached=False):
        return region_rollup(region, year=choice.year, on=choice.on, only_if_cached=only_if_cached)
    cached_rollup, sizing = rollup(only_if_cached=True), sizing_rollup(region, only_if_cached=True)
    # every year's households: the sizing rollup covers them all, whatever year the page shows
    if (cached_rollup is None or sizing is None) and may_defer and slow_to_count(region):
        return None
    return {"rollup": cached_rollup or rollup(), "sizing": sizing or sizing_rollup(region), "choice": choice}


def _choice(request, region) -> years.Choice:
    """?year= (a plan year, or all) and ?asof= of the page, default the latest plan and today."""
    return years.choose(request.GET, codes.full_code(region.code[:4]), allow_all=True)


def _current_successor(code) -> Region | None:
    """The region that now stands for a retired one (following a chain of changes), if any."""
    retired = Region.all_objects.filter(code=code, successor__isnull=False).first()
    for _step in range(10):  # a chain of changes is short; a cycle would be a data error
        if retired is None or retired.successor is None:
            return None
        successor = Region.objects.filter(code=retired.successor_id).first()
        if successor is not None:
            return successor
        retired = Region.all_objects.filter(code=retired.successor_id).first()
    return None


@requires(VIEW)
def region_page(request, code):
    if not Region.objects.filter(code=code).exists() and (successor := _current_successor(code)):
        require_in_scope(request.user, successor.code)
        messages.info(request, _("%(old)s 已因区划调整并入 %(new)s，已为您打开调整后的区划。")
                      % {"old": code, "new": successor.name})
        return redirect("region", code=successor.code)
    region = _scoped_region(request, code)
    choice = _choice(request, region)
    figures = _figures(region, choice, may_defer=True)
    context = {"region": region, "choice": choice, "ancestors": [a for a in region.ancestors()
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
                  {"region": region, "oob_total": True, **_figures(region, _choice(request, region), may_defer=False)})


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


PICKER_MODES = {"filter": places.PICKER_LEVELS, "form": (codes.VILLAGE,)}


@requires(VIEW)
def place_search(request):
    """Townships and villages (the household form: villages only) whose official or short name
    holds what was typed, within the user's scope only (htmx type-ahead of the place pickers)."""
    mode = request.GET.get("mode", "filter")
    levels = PICKER_MODES.get(mode, places.PICKER_LEVELS)
    text = (request.GET.get("region") or request.GET.get("place") or "").strip()[:30]
    found = [] if not text or text.isdigit() else places.search(request.user, text, levels)
    return render(request, "regions/_places.html", {
        "text": text, "mode": mode, "searched": bool(text) and not text.isdigit(),
        "places": [{"region": r, "trail": places.trail(r)} for r in found]})
