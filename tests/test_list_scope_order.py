"""The household list at a province's size reads a county by the county part of the code (and
hh_county_list_idx) and other scopes by range then sort (ledger.queries.in_codes/in_list_order):
the rows and their order are exactly the scope's households in number order, whatever the path."""
import pytest

from cleanheat import pii
from cleanheat.ledger.models import Household
from cleanheat.ledger.queries import household_queryset, in_list_order
from cleanheat.regions.models import Region
from tests.conftest import make_user


def expected(prefix, **filters):
    rows = Household.objects.filter(archived=False, **filters).order_by("household_no")
    return [h.household_no for h in rows if h.village_id.startswith(prefix)]


def listed(user, **filters):
    qs = in_list_order(household_queryset(user, **filters), user, filters.get("region", ""))
    return [h.household_no for h in qs]


@pytest.mark.django_db
def test_each_scope_lists_its_households_in_number_order(county_clerk, city_admin):
    township = Region.objects.filter(level=3, code__startswith="140902").order_by("code")[1]
    township_clerk = make_user("t_township", township.prefix, role="township_clerk")
    assert listed(county_clerk) == expected("140902") and len(expected("140902")) > 20
    assert listed(township_clerk) == expected(township.prefix)
    assert listed(city_admin, region="140902") == expected("140902")
    assert listed(city_admin, region="1409", state="accepted") == expected("1409", state="accepted")
    assert listed(city_admin, region=township.code) == expected(township.prefix)
    assert listed(county_clerk, path="electric") == expected("140902", heating_path="electric")
    assert listed(county_clerk, region="140921") == []  # another county: outside the scope


@pytest.mark.django_db
def test_a_number_finds_its_household_and_stray_digits_find_nothing(county_clerk):
    household = Household.objects.filter(village_id__gte="140902", village_id__lt="140903").order_by("pk")[3]
    number = pii.decrypt(household.id_number_cipher)
    assert listed(county_clerk, q=number) == [household.household_no]
    assert listed(county_clerk, q=household.household_no) == [household.household_no]
    assert listed(county_clerk, q="王1") == []  # a digit: no name matches, and no longer "everything"
    assert listed(county_clerk, q=household.householder_name)  # names still found
