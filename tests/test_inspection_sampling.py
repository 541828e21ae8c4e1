"""Issue #18 (b): a reproducible stratified sample per township or county, sized by the rule (data),
excluding the last round's households when asked; re-drawn only with a reason."""
from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from cleanheat.inspections import rounds, sampling
from cleanheat.inspections.models import SampledHousehold

from .conftest import make_user

RULE = sampling.Rule(level="township", share=0.05, minimum=10)


def households(n_townships=3, per=400):
    paths = ["electric", "gas", "central", "biomass"]
    rows, pk = [], 0
    for t in range(n_townships):
        for i in range(per + t * 100):
            pk += 1
            rows.append((pk, f"140902{101 + t:03d}{200 + i % 7:03d}", paths[(i * 7 + t) % 4 if i % 10 else 0]))
    return rows


def test_the_size_follows_the_rule():
    assert [RULE.size(n) for n in (0, 5, 100, 200, 201, 1000)] == [0, 5, 10, 10, 11, 50]


def test_places_are_shared_in_proportion_with_every_path_present():
    shares = sampling.allocate(20, {"electric": 700, "gas": 200, "central": 90, "biomass": 10})
    assert sum(shares.values()) == 20 and all(v >= 1 for v in shares.values())
    assert shares["electric"] > shares["gas"] > shares["biomass"]
    assert sampling.allocate(2, {"a": 5, "b": 9, "c": 1}) == {"a": 1, "b": 1, "c": 0}
    assert sampling.allocate(10, {"a": 2, "b": 50}) == {"a": 1, "b": 9}
    assert sampling.allocate(5, {"a": 2, "b": 3}) == {"a": 2, "b": 3}  # all of a small unit


def test_the_sample_is_reproducible_from_its_seed_sized_and_stratified():
    rows = households()
    first, again, other = (sampling.draw(rows, RULE, s) for s in (42, 42, 43))
    assert first == again and first != other
    by_township = Counter(unit for _, unit, _ in first)
    sizes = Counter(v[:9] for _, v, _ in rows)
    assert by_township == {t: RULE.size(n) for t, n in sizes.items()}
    for township in sizes:   # every path of the township is in its sample
        assert {p for _, u, p in first if u == township} == {p for _, v, p in rows if v[:9] == township}
    # another township's households changing does not move this township's sample
    fewer = [r for r in rows if not (r[1].startswith("140902103") and r[0] % 2)]
    assert [s for s in sampling.draw(fewer, RULE, 42) if s[1] == "140902101"] == \
        [s for s in first if s[1] == "140902101"]


def test_households_of_the_last_round_are_left_out_when_asked():
    rows = households()
    first = {pk for pk, _, _ in sampling.draw(rows, RULE, 1)}
    second = {pk for pk, _, _ in sampling.draw(rows, RULE, 2, exclude=frozenset(first))}
    assert second and not first & second


@pytest.mark.django_db
def test_a_round_is_drawn_recorded_and_redrawn_only_with_a_reason():
    clerk = make_user("sample_clerk", "140902", role="county_admin")
    round_ = rounds.create_round(kind="self", region_code="140902000000", year=2022, name="忻府区自查", user=clerk)
    stored = sorted(SampledHousehold.objects.filter(round=round_).values_list("household_id", flat=True))
    assert stored
    again = sampling.draw(rounds.eligible("140902000000", 2022), rounds.rule_of(round_), round_.seed)
    assert stored == sorted(pk for pk, _, _ in again)
    assert round_.draws.get().size == len(stored)
    with pytest.raises(ValidationError, match="须填写原因"):
        rounds.redraw(round_, reason=" ", user=clerk)
    rounds.redraw(round_, reason="抽到的村正在停电检修", user=clerk, seed=round_.seed + 1)
    assert [d.reason for d in round_.draws.all()] == ["", "抽到的村正在停电检修"]
    nxt = rounds.create_round(kind="self", region_code="140902000000", year=2022, name="第二轮", user=clerk,
                              exclude_previous=True)
    assert not set(nxt.samples.values_list("household_id", flat=True)) & \
        set(round_.samples.values_list("household_id", flat=True))


@pytest.mark.django_db
def test_a_round_outside_the_scope_is_refused():
    clerk = make_user("sample_other", "140902", role="county_admin")
    with pytest.raises(ValidationError, match="不在您的管辖范围"):
        rounds.create_round(kind="self", region_code="140981000000", year=2022, name="越权", user=clerk)
