from django.shortcuts import redirect, render

from cleanheat.access import any_user, requires
from cleanheat.accounts.roles import VIEW

from . import codes
from .models import Region
from .scope import NOTHING, user_prefix


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
