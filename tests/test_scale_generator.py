"""The province-scale generator (manage.py load_scale, docs/scale.md) at 1 % of one city, on
PostgreSQL: households under the synthetic codes, encrypted and findable by ID number, a history
for each, the indexes back after the load and the maintained counts equal to the ledger."""
import pytest
from django.core.management import call_command
from django.db import connection

from cleanheat import pii
from cleanheat.accounts.models import User
from cleanheat.demo import scale
from cleanheat.ledger import identity
from cleanheat.ledger.models import Household, LifecycleEvent
from cleanheat.ledger.queries import household_queryset
from cleanheat.ledger.rollup import counts_from_ledger
from cleanheat.ledger import counts
from cleanheat.regions.scope import code_q

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql",
                                reason="load_scale writes with PostgreSQL's COPY; run with DATABASE_URL=postgres://…")


def index_names():
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename IN "
                    "('ledger_household', 'ledger_lifecycleevent', 'ledger_householdchange')")
        return {row[0] for row in cur.fetchall()}


@pytest.mark.django_db
def test_one_city_at_one_percent_is_written_whole_and_searchable():
    before = index_names()
    call_command("load_scale", cities=1, scale=0.01, verbosity=0)
    households = Household.objects.filter(code_q("village_id", "9901"))
    assert households.count() == scale.expected(1, 0.01) > 2000
    assert index_names() == before  # dropped for the load, built again
    sample = households.order_by("household_no")[100]
    number = pii.decrypt(sample.id_number_cipher)
    assert number.startswith("9901") and identity.normalise_id_number(number) == number  # valid checksum
    assert sample.id_number_masked == identity.mask_id_number(number)
    clerk = User.objects.get(username="scale_clerk")
    found = household_queryset(User.objects.get(username="scale_province"), q=number)
    assert [h.pk for h in found] == [sample.pk]
    assert not household_queryset(clerk, q=number).exclude(code_q("village_id", "990102")).exists()
    assert not households.exclude(pk__in=LifecycleEvent.objects.values("household_id")).exists()
    last = LifecycleEvent.objects.filter(household=sample).order_by("-id").first()
    assert last.to_state == sample.state
    assert counts_from_ledger("99", 6, 2022) == {
        u: {(p, s): n for _, p, s, n in rows}
        for u, rows in _grouped(counts.rows("99", 6, 2022)).items()}


def _grouped(rows):
    out = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out
