"""The maintained household counts (ledger.HouseholdCount, kept by triggers) always equal the
ledger's own GROUP BY: after the demo load, after random edits through the services and through
bulk queryset writes, and after folding. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""
import random

import pytest
from django.core.exceptions import ValidationError
from django.db import connection  # noqa: F401 (named by a skipif condition)
from django.utils import timezone

from cleanheat.ledger import counts, services
from cleanheat.ledger.choices import STATE_ORDER
from cleanheat.ledger.models import Household, HouseholdCount
from cleanheat.ledger.rollup import counts_from_ledger, region_rollup
from cleanheat.regions import codes
from cleanheat.regions.models import Region

LEVELS = (4, 6, 9)


def maintained(prefix, unit_length, year):
    out = {}
    for unit, path, state, n in counts.rows(prefix, unit_length, year):
        out.setdefault(unit, {})[(path, state)] = n
    return out


def assert_counts_match_ledger():
    township = Region.objects.filter(level=codes.TOWNSHIP, code__startswith="140902").order_by("code").first()
    for prefix in ("", "1409", "140902", township.prefix):
        for unit_length in LEVELS:
            if unit_length < len(prefix):
                continue
            for year in (None, 2022, 2023):
                assert maintained(prefix, unit_length, year) == counts_from_ledger(prefix, unit_length, year), \
                    (prefix, unit_length, year)


def random_edits(rng, user, n=40):
    """Moves forward and back, archive and restore through the services; plan year and village
    changed by bulk updates; a household added and deleted."""
    ids = list(Household.objects.values_list("pk", flat=True))
    villages = list(Region.objects.filter(level=codes.VILLAGE).values_list("code", flat=True)[:50])
    done = 0
    for pk in rng.sample(ids, n):
        household = Household.objects.get(pk=pk)
        action = rng.choice(("back", "forward", "archive", "restore"))
        try:
            if action == "archive" and not household.archived:
                services.archive_household(household, reason="测试归档", user=user)
            elif action == "restore" and household.archived:
                services.restore_household(household, user=user, reason="测试恢复")
            elif not household.archived:
                step = STATE_ORDER.index(household.state) + (1 if action == "forward" else -1)
                if 0 <= step < len(STATE_ORDER):
                    services.transition(household, STATE_ORDER[step], user=user, reason="测试",
                                        occurred_on=timezone.localdate())
            done += 1
        except ValidationError:
            continue  # a rule refused this move: nothing written
    Household.objects.filter(pk__in=rng.sample(ids, 15)).update(plan_year=2023)
    Household.objects.filter(pk__in=rng.sample(ids, 15)).update(village_id=rng.choice(villages))
    Household.objects.filter(pk__in=rng.sample(ids, 5)).update(archived=True)
    extra = Household.objects.get(pk=rng.choice(ids))
    extra.pk, extra.household_no, extra.id_number_hash, extra.archived = None, "X000000001", "test-only", False
    extra.save()
    assert_counts_match_ledger()  # the added one counted
    extra.delete()
    return done


@pytest.mark.django_db
def test_counts_equal_the_ledger_after_the_load_and_random_edits(city_admin):
    assert HouseholdCount.objects.exists()
    assert_counts_match_ledger()
    rng = random.Random(20)
    assert random_edits(rng, city_admin) > 10
    assert_counts_match_ledger()
    counts.compact()
    assert_counts_match_ledger()
    if HouseholdCount.objects.exists():  # folded: one row per key
        keys = HouseholdCount.objects.values_list("township_code", "plan_year", "heating_path", "state")
        assert len(set(keys)) == HouseholdCount.objects.count()


@pytest.mark.django_db
def test_rebuild_restores_counts_lost_or_wrong_and_rollups_read_them(city_admin):
    before = region_rollup(Region.objects.get(code="140900000000"), year=2022)["node"]
    HouseholdCount.objects.filter(township_code__startswith="140902").update(n=999)  # damaged
    assert maintained("140902", 6, 2022) != counts_from_ledger("140902", 6, 2022)
    counts.rebuild("1409")
    assert_counts_match_ledger()
    from cleanheat.figures.services import bump
    bump()
    assert region_rollup(Region.objects.get(code="140900000000"), year=2022)["node"] == before


@pytest.mark.django_db
def test_the_command_folds_and_recounts():
    from django.core.management import call_command
    HouseholdCount.objects.filter(township_code__startswith="140902").delete()  # lost
    call_command("household_counts", rebuild="1409", verbosity=0)
    assert_counts_match_ledger()


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'",
                    reason="PostgreSQL's test flush is one TRUNCATE, which fires none of the count triggers")
def test_a_flush_that_empties_the_counts_before_the_households_leaves_no_negative_counts():
    """Django's test flush deletes tables one by one in no fixed order (SQLite): households removed
    after their counts must not leave negative rows that the next test would add to."""
    assert Household.objects.filter(archived=False).exists()
    HouseholdCount.objects.all().delete()
    Household.objects.filter(archived=False).update(archived=True)   # the update trigger: old key lowered
    assert not HouseholdCount.objects.exists()
    Household.objects.filter(pk=Household.objects.order_by("pk").first().pk).update(archived=False)
    assert HouseholdCount.objects.get().n == 1
