"""The region pages: the ledger's five-level rollup beside procurement's sizing rollup.

Its own small app above both, so that neither the ledger nor the regions import procurement."""
from django.shortcuts import get_object_or_404, render

from cleanheat.access import requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import region_rollup
from cleanheat.procurement.batch import sizing_rollup
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope, user_prefix


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
