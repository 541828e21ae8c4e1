"""Reading the ledger: the one place that turns a user and filter values into a queryset.

The web list and the API list both call household_queryset, so they filter, scope and search
identically.
"""
import re

from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Concat, Substr
from django.shortcuts import get_object_or_404

from cleanheat import pii
from cleanheat.regions import places
from cleanheat.regions.codes import CITY, COUNTY, PREFIX_LENGTH, full_code, prefix_of
from cleanheat.regions.scope import code_q, narrowing_prefix, user_prefix

from . import identity
from .choices import VULNERABLE_FLAGS, HeatingPath, LifecycleState
from .models import Household

LISTED_IN_ORDER = (PREFIX_LENGTH[CITY], PREFIX_LENGTH[COUNTY])  # scopes with a number-ordered index


def scoped_households(user):
    prefix = narrowing_prefix(user_prefix(user))
    return in_codes(Household.objects.all(), prefix) if prefix else Household.objects.all()


def in_codes(qs, prefix: str):
    """Households whose village code starts with `prefix`. A county or a city as that part of the
    code, which hh_county_list_idx / hh_city_list_idx hold in household-number order (a code range
    would be read whole and sorted, and the planner misjudges a range and a part test side by side)."""
    if len(prefix) in LISTED_IN_ORDER:
        return qs.alias(**{f"part_{prefix}": Substr("village_id", 1, len(prefix))}).filter(**{f"part_{prefix}": prefix})
    return qs.filter(code_q("village_id", prefix))


def scoped_household(user, household_no: str) -> Household:
    """One household by number; outside the user's scope it simply does not exist (404)."""
    return get_object_or_404(scoped_households(user).select_related("village"), household_no=household_no)


def region_code(user, text: str) -> str | None:
    """The code the region box means: digits as given (a code or its prefix), a name when it names
    exactly one place in the user's scope (official or short name); None when it names none or several."""
    code = identity.normalise_text(text)
    if not code.isdigit():
        found = places.resolve(user, code)
        return found[0].code if len(found) == 1 else None
    return code if len(code) <= 12 else None


def search_q(text: str) -> Q:
    """Name (contains), household number, or exact ID number / mobile via the keyed hash."""
    text = identity.normalise_text(text)
    if not text:
        return Q()
    # A name holds no digit: a number is looked up by its indexes only (a name LIKE '%…%' beside
    # it would scan the whole scope, seconds at a province's 5 M households).
    query = Q() if any(c.isdigit() for c in text) else Q(householder_name__contains=text)
    try:
        query |= Q(id_number_hash=pii.blind_index(identity.normalise_id_number(text), "id"))
    except ValueError:
        pass
    if re.fullmatch(r"1[3-9]\d{9}", text):
        query |= Q(phone_hash=pii.blind_index(text, "phone"))
    if text.isdigit():
        query |= Q(household_no__startswith=text)
    return query or Q(pk__in=[])  # digits that are no number of any kind match nothing


def household_queryset(user, *, region="", path="", state="", flag="", q="", archived=False):
    qs = scoped_households(user).filter(archived=archived)
    if region:
        code = region_code(user, region)
        if code is None:
            return qs.none()
        qs = in_codes(qs, prefix_of(code) if len(code) == 12 else code)
    if path in HeatingPath.values:
        qs = qs.filter(heating_path=path)
    if state in LifecycleState.values:
        qs = qs.filter(state=state)
    if flag in VULNERABLE_FLAGS:
        qs = qs.filter(**{flag: True})
    if q:
        qs = qs.filter(search_q(q))
    return qs.select_related("village")


def in_list_order(qs, user, region: str = ""):
    """`qs` in household-number order, as the lists show it. When the rows are a range of codes (a
    scope narrower than the database, or a region filter), the range is read and then sorted: the
    planner would otherwise walk the household-number index from the start, passing every
    household numbered before the range (a county of a province's last city: 5 M rows, seconds).
    The expression is the number itself; only the index cannot serve it."""
    prefix = prefix_of(full_code(region)) if region.isdigit() and len(region) <= 12 else \
        narrowing_prefix(user_prefix(user))
    if len(prefix) in LISTED_IN_ORDER:  # in_codes: walked in the county's (city's) slice of its index
        return qs.order_by("household_no")
    if region or prefix:
        return qs.order_by(Concat(F("household_no"), Value(""), output_field=CharField()), "pk")
    return qs.order_by("household_no")
