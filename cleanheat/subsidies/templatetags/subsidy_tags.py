"""The household page's subsidy card (an include in ledger/household_detail.html): its entitlements
with the arithmetic, its energy readings and, for clerks, a form to enter one. The household is the
page's own, already fetched in the user's scope."""
from django import template

from cleanheat.access import has_perm
from cleanheat.accounts import roles

from cleanheat.subsidies.forms import ReadingForm
from cleanheat.subsidies.models import PaymentLine, Status
from cleanheat.subsidies.reading_sheet import PATH_UNITS

register = template.Library()


@register.inclusion_tag("subsidies/_household_card.html", takes_context=True)
def household_subsidies(context, household):
    user = context["request"].user
    if not has_perm(user, roles.SUBSIDIES):
        return {"allowed": False}
    lines = list(household.entitlements.select_related("policy", "item").order_by("-year", "kind", "season"))
    latest = {}
    for payment in PaymentLine.objects.filter(entitlement__in=lines).select_related("batch").order_by("id"):
        latest[payment.entitlement_id] = payment      # the latest payment of each line (a failure, then a retry)
    for line in lines:
        line.payment = latest.get(line.pk)
    readings = list(household.energy_readings.order_by("unit", "-season"))
    writable = has_perm(user, roles.READINGS) and not household.archived
    return {"allowed": True, "household": household, "lines": lines, "readings": readings,
            "approved": Status.APPROVED, "form": ReadingForm(initial={"unit": _unit_of(household)}) if writable else None,
            "csrf_token": context.get("csrf_token"),
            "declarations": list(household.declarations.order_by("-year")),
            "can_declare": has_perm(user, roles.DECLARE) and not household.archived}


def _unit_of(household) -> str:
    return PATH_UNITS.get(household.heating_path, "kwh")
