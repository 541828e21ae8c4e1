from collections import Counter

import pytest

from cleanheat.ledger import demo, identity
from cleanheat.ledger.models import Household
from cleanheat.ledger.rollup import region_rollup
from cleanheat.regions import codes
from cleanheat.regions.loader import read_city
from cleanheat.regions.models import Region


def real_villages(cfg):
    """The demo's villages as the vendored statistical data has them: {county: {code: weight}}."""
    rows = [r for r in read_city(cfg["city"][:4]) if r["level"] == codes.VILLAGE]
    return demo.village_weights(cfg, [(r["code"], r["kind"]) for r in rows])


def test_demo_generator_hits_the_plans_four_targets_exactly(demo_cfg):
    villages = real_villages(demo_cfg)
    paths, ids, bad_prefix, per_village = Counter(), set(), 0, Counter()
    for rec in demo.generate_households(demo_cfg, villages):
        paths[rec["heating_path"]] += 1
        ids.add(rec["id_number"])
        per_village[rec["village"]] += 1
        expected = demo_cfg["id_address_code"].get(rec["county"], rec["county"])
        bad_prefix += not rec["id_number"].startswith(expected) or not rec["village"].startswith(rec["county"])
    assert dict(paths) == {"central": 151831, "electric": 40342, "gas": 9846, "biomass": 10530}
    assert sum(paths.values()) == 212549 == len(ids)  # one householder per household
    assert bad_prefix == 0
    per_county = {county: demo.county_path_counts(demo_cfg)[county] for county in villages}
    for county, weights in villages.items():
        assert sum(per_village[v] for v in weights) == sum(per_county[county].values())
        counts = [per_village[v] for v in weights]  # every village of a county weighs alike
        assert counts and min(counts) > 0 and max(counts) - min(counts) <= 1


def test_demo_is_deterministic_and_ids_are_valid(demo_cfg):
    villages = {c: {f"{c}100201": 1, f"{c}100202": 1} for c in demo_cfg["counties"]}
    first = [(r["id_number"], r["village"]) for r, _ in zip(demo.generate_households(demo_cfg, villages), range(500))]
    again = [(r["id_number"], r["village"]) for r, _ in zip(demo.generate_households(demo_cfg, villages), range(500))]
    assert first == again
    assert first and all(identity.normalise_id_number(n) == n for n, _ in first)


def test_region_codes_follow_the_prefix_hierarchy(db):
    assert Region.objects.filter(level=codes.COUNTY).count() == 15
    wutai = Region.objects.get(code="140971000000")
    assert (wutai.name, wutai.kind, wutai.parent_id) == ("五台山风景名胜区", "功能区", "140900000000")
    assert Region.objects.get(code="140900000000").parent_id == "140000000000"
    regions = list(Region.objects.exclude(level=codes.PROVINCE).select_related("parent"))
    assert len(regions) > 3000
    for r in regions:
        assert r.code.startswith(r.parent.prefix) and r.parent.level == r.level - 1


def brute_force(prefix):
    counts = Counter()
    for h in Household.objects.filter(archived=False).values("village_id", "heating_path", "state"):
        if h["village_id"].startswith(prefix):
            counts[(h["heating_path"], h["state"])] += 1
    return counts


@pytest.mark.django_db
def test_rollups_equal_a_brute_force_count_at_every_level():
    Household.objects.filter(pk__in=Household.objects.order_by("pk").values("pk")[:5]).update(archived=True)
    sample = [Region.objects.get(level=codes.CITY)]
    for level in (codes.COUNTY, codes.TOWNSHIP, codes.VILLAGE):
        sample += list(Region.objects.filter(level=level).order_by("?")[:4])
    for region in sample:
        data = region_rollup(region)
        paths = [p.value for p in data["paths"]]
        states = [s.value for s in data["states"]]
        expected = brute_force(region.prefix)
        assert data["node"]["total"] == sum(expected.values())
        for path, n in zip(paths, data["node"]["paths"]):
            assert n == sum(v for (p, _), v in expected.items() if p == path)
        for state, n in zip(states, data["node"]["states"]):
            assert n == sum(v for (_, s), v in expected.items() if s == state)
        for child in data["children"]:
            assert child["total"] == sum(brute_force(child["region"].prefix).values())
        assert sum(c["total"] for c in data["children"]) == (data["node"]["total"] if data["children"] else 0)


@pytest.mark.django_db
def test_loaded_demo_totals_follow_the_plan_split(demo_cfg):
    from tests.conftest import TEST_SCALE
    expected = demo.county_path_counts(demo_cfg, TEST_SCALE)
    city = region_rollup(Region.objects.get(level=codes.CITY), year=2022)
    by_path = dict(zip([p.value for p in city["paths"]], city["node"]["paths"]))
    for path, target in demo_cfg["targets"].items():
        assert by_path[path] == sum(c[path] for c in expected.values()) == round(target * TEST_SCALE)
