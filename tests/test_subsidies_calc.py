"""Subsidy arithmetic by hand: one household per kind of item, tilts, caps, two policy versions,
level shares to the fen — and the NumPy batch holding to the per-household reference. No database."""
from datetime import date

import numpy as np
import pytest

from cleanheat.subsidies import calc, calc_batch, terms
from cleanheat.subsidies.calc import Facts, Item, Policy, Reading, Tilt

LABELS = calc.Labels(paths={"electric": "煤改电", "central": "集中供热", "gas": "煤改气"},
                     states={"accepted": "已验收", "installed": "已完工", "proven": "稳定运行满一个采暖季"},
                     devices={"ashp_air": "低温空气源热泵（热风型）"})
EQUIPMENT_SHARES = (3000, 3000, 2000, 2000)      # central 30 %, provincial 30 %, city 20 %, county 20 %
AIR = Item(1, 1, "equipment", path="electric", device="ashp_air", method="share", share_bp=7000, cap_fen=800_000,
           shares_bp=EQUIPMENT_SHARES)
ELECTRIC = Item(2, 2, "equipment", path="electric", method="share", share_bp=5000, cap_fen=400_000,
                shares_bp=EQUIPMENT_SHARES)
CENTRAL = Item(3, 3, "equipment", path="central", method="fixed", fixed_fen=200_000, shares_bp=(0, 0, 5000, 5000))
ENVELOPE = Item(4, 4, "envelope", rate=5000, cap_fen=600_000, shares_bp=(0, 5000, 2500, 2500))
KWH = Item(5, 5, "operating", path="electric", unit="kwh", rate=2000, cap_fen=240_000, seasons=3,
           shares_bp=(0, 4000, 3000, 3000))
TILTS = (Tilt("is_dibao", "equipment", share_bp=8000), Tilt("is_tekun", "equipment", share_bp=9000),
         Tilt("is_tekun", "equipment", path="electric", cap_fen=1_200_000),
         Tilt("is_canji", "equipment", extra_fen=50_000), Tilt("is_tuopin", "operating", cap_fen=300_000),
         Tilt("is_tekun", "operating", extra_fen=20_000))
V1 = Policy(11, 1, "测试政策", date(2022, 1, 1), None, (AIR, ELECTRIC, CENTRAL, ENVELOPE, KWH), TILTS)
POLICIES = {"1409": (V1,)}
ACCEPTED_ON = date(2022, 9, 15)


def household(**values) -> Facts:
    base = dict(id=1, village="140902101201", path="electric", state="accepted", device="ashp_air", price=1_280_000,
                equipment="热风机 YZ-RF10（合同 CG-1）", accepted_on=ACCEPTED_ON, entered_on=date(2022, 3, 5),
                first_season=2022, area=965)
    return Facts(**{**base, **values})


def lines_of(facts, policies=POLICIES):
    return {line.kind: line for line in calc.household_lines(facts, policies, LABELS)}


# ---- equipment

def test_equipment_share_of_the_contract_price_capped():
    """12,800 × 70 % = 8,960 > cap 8,000 → 8,000; shares 30/30/20/20 % → 2,400 + 2,400 + 1,600 + 1,600."""
    line = lines_of(household())["equipment"]
    assert line.arithmetic == "设备补贴 = min(合同价 12,800 × 70 %, 8,000) = 8,000 元"
    assert line.amount == 800_000
    assert line.shares == (240_000, 240_000, 160_000, 160_000)
    assert "合同价：12,800 元" in line.inputs and "验收日期 2022-09-15" in line.inputs


def test_equipment_below_the_cap_is_rounded_to_the_fen():
    """A storage heater under the path's item: 7,200.55 × 50 % = 3,600.275 → 3,600.28 (half up)."""
    line = lines_of(household(device="storage", price=720_055))["equipment"]
    assert line.item_id == ELECTRIC.id    # the device has no item of its own: the path's
    assert line.amount == 360_028
    assert line.arithmetic == "设备补贴 = min(合同价 7,200.55 × 50 %, 4,000) = 3,600.28 元（按分四舍五入）"
    # 3,600.28 × 30 % = 1,080.084 → 1,080.08 twice; × 20 % = 720.056 → 720.05 twice; 2 fen left over go to
    # the largest remainders (.6 of a fen, city and county), the lower level first
    assert line.shares == (108_008, 108_008, 72_006, 72_006)
    assert sum(line.shares) == line.amount


def test_equipment_fixed_amount_needs_no_contract():
    line = lines_of(household(path="central", device="", price=None, equipment=""))["equipment"]
    assert line.arithmetic == "设备补贴 = 定额 2,000 元"
    assert line.amount == 200_000 and line.shares == (0, 0, 100_000, 100_000)


def test_no_equipment_subsidy_before_acceptance_or_without_a_contract_price():
    assert "equipment" not in lines_of(household(state="installed"))
    assert "equipment" not in lines_of(household(price=None, device="", equipment=""))


def test_tilt_raises_the_share_and_adds_the_extra():
    """低保: 80 %; 残疾: + 500. min(12,800 × 80 % = 10,240, 8,000) + 500 = 8,500."""
    line = lines_of(household(flags=frozenset({"is_dibao", "is_canji"})))["equipment"]
    assert line.arithmetic == "设备补贴 = min(合同价 12,800 × 80 %（低保）, 8,000) + 加发 500（残疾） = 8,000 + 500 = 8,500 元"
    assert line.amount == 850_000 and sum(line.shares) == 850_000
    assert "困难群体：低保、残疾" in line.inputs


def test_tilts_take_the_best_of_each_effect_not_the_sum():
    """低保 80 % and 特困 90 %: 90 % (not 170 %); 特困 raises the cap to 12,000: min(11,520, 12,000) = 11,520."""
    line = lines_of(household(flags=frozenset({"is_dibao", "is_tekun"})))["equipment"]
    assert line.arithmetic == "设备补贴 = min(合同价 12,800 × 90 %（特困）, 12,000（特困）) = 11,520 元"
    assert line.amount == 1_152_000


def test_the_subsidy_never_exceeds_the_contract_price():
    """A cheap heater with a fixed amount above its price: 定额 2,000 + 500 > 1,800 → 1,800."""
    cheap = Item(6, 6, "equipment", path="electric", device="direct", method="fixed", fixed_fen=200_000,
                 shares_bp=EQUIPMENT_SHARES)
    policies = {"1409": (Policy(12, 1, "测试政策", date(2022, 1, 1), None, (cheap,), TILTS),)}
    line = lines_of(household(device="direct", price=180_000, flags=frozenset({"is_canji"})), policies)["equipment"]
    assert line.arithmetic == "设备补贴 = 定额 2,000 + 加发 500（残疾） = 2,000 + 500 = 2,500 元；不超过合同价，计 1,800 元"
    assert line.amount == 180_000


# ---- envelope

def test_envelope_per_square_metre_and_its_cap():
    """96.5 m² × 50 = 4,825; 150.3 m² × 50 = 7,515 > 6,000."""
    line = lines_of(household(retrofitted=True))["envelope"]
    assert line.arithmetic == "建筑节能改造补贴 = min(面积 96.5 m² × 50 元/m², 6,000) = 4,825 元"
    assert line.shares == (0, 241_250, 120_625, 120_625)
    capped = lines_of(household(retrofitted=True, area=1503))["envelope"]
    assert capped.amount == 600_000 and capped.arithmetic.endswith("= 6,000 元")
    assert "envelope" not in lines_of(household(retrofitted=False))


def test_envelope_before_acceptance_uses_the_entry_date():
    line = lines_of(household(retrofitted=True, state="installed", accepted_on=None))["envelope"]
    assert line.amount == 482_500 and "政策适用日期：2022-03-05（纳入改造日期）" in line.inputs


# ---- operating

def test_operating_subsidy_per_season_with_cap_and_number_of_seasons():
    """3,200 kWh × 0.2 = 640; 15,000 kWh × 0.2 = 3,000 > 2,400; the 4th season is past the 3 seasons."""
    readings = (Reading(2022, "kwh", 120_000, 440_000, date(2023, 3, 28)), Reading(2023, "kwh", 440_000, 1_940_000),
                Reading(2025, "kwh", 2_000_000, 2_100_000))
    lines = [x for x in calc.household_lines(household(readings=readings), POLICIES, LABELS) if x.kind == "operating"]
    assert [(x.season, x.amount) for x in lines] == [(2022, 64_000), (2023, 240_000)]
    assert lines[0].arithmetic == "运行补贴（2022–2023采暖季） = min(电量 3,200 kWh × 0.2 元/kWh, 2,400) = 640 元"
    assert "第1季，共3季（自2022–2023采暖季起）" in lines[0].inputs
    assert lines[1].arithmetic == "运行补贴（2023–2024采暖季） = min(电量 15,000 kWh × 0.2 元/kWh, 2,400) = 2,400 元"
    tilted = [x for x in calc.household_lines(household(readings=readings, flags=frozenset({"is_tuopin", "is_tekun"})),
                                              POLICIES, LABELS) if x.kind == "operating"]
    assert tilted[1].arithmetic == ("运行补贴（2023–2024采暖季） = min(电量 15,000 kWh × 0.2 元/kWh, 3,000（脱贫）) "
                                    "+ 加发 200（特困） = 3,000 + 200 = 3,200 元")


def test_no_operating_subsidy_for_a_season_before_conversion_or_a_meter_without_an_item():
    readings = (Reading(2021, "kwh", 0, 100_000), Reading(2022, "m3", 0, 100_000))
    assert [x for x in calc.household_lines(household(readings=readings), POLICIES, LABELS) if x.kind == "operating"] == []


def test_first_season_is_the_one_that_ends_after_acceptance():
    seasons = [(date(2022, 11, 3), date(2023, 3, 27)), (date(2023, 11, 3), date(2024, 3, 27))]
    assert calc.first_season(date(2022, 10, 15), seasons) == 2022
    assert calc.first_season(date(2023, 2, 1), seasons) == 2022     # during the season: it counts
    assert calc.first_season(date(2023, 4, 1), seasons) == 2023
    assert calc.first_season(date(2026, 2, 1), seasons) == 2025     # beyond the data: seasons start in July


# ---- versions

def test_the_version_in_force_on_the_acceptance_day_applies():
    """v1 from 1 January (70 %), v2 from 1 July (60 %, until 30 November): accepted 30 June → v1,
    1 July → v2, 1 December → none (after v2's end)."""
    v2 = Policy(13, 2, "测试政策", date(2022, 7, 1), date(2022, 11, 30), (Item(7, 1, "equipment", path="electric",
                method="share", share_bp=6000, shares_bp=EQUIPMENT_SHARES),), ())
    policies = {"1409": (V1, v2)}
    june = lines_of(household(accepted_on=date(2022, 6, 30)), policies)["equipment"]
    july = lines_of(household(accepted_on=date(2022, 7, 1)), policies)["equipment"]
    assert (june.policy_id, june.amount) == (V1.id, 800_000)
    assert (july.policy_id, july.amount) == (v2.id, 768_000)
    assert july.arithmetic == "设备补贴 = 合同价 12,800 × 60 % = 7,680 元"
    assert "政策适用日期：2022-07-01（验收日期）" in july.inputs
    assert lines_of(household(accepted_on=date(2022, 12, 1)), policies) == {}
    assert lines_of(household(accepted_on=date(2021, 12, 31)), policies) == {}


def test_a_county_policy_replaces_the_citys():
    county = Policy(14, 1, "县政策", date(2022, 1, 1), None, (Item(8, 1, "equipment", method="fixed", fixed_fen=100_000,
                                                                shares_bp=(0, 0, 0, 10_000)),), ())
    policies = {"1409": (V1,), "140902": (county,)}
    assert lines_of(household(), policies)["equipment"].amount == 100_000
    assert lines_of(household(village="140921101201"), policies)["equipment"].amount == 800_000


# ---- level shares

@pytest.mark.parametrize("amount, shares, expected", [
    (1, (2500, 2500, 2500, 2500), (0, 0, 0, 1)),             # one fen: the county (lowest level) on a tie
    (2, (2500, 2500, 2500, 2500), (0, 0, 1, 1)),
    (100, (3333, 3333, 3334, 0), (33, 33, 34, 0)),
    (823_086, (3333, 3333, 1667, 1667), (274_335, 274_335, 137_208, 137_208)),   # remainders .5638 ×2, .4362 ×2
    (999_999, (0, 0, 0, 10_000), (0, 0, 0, 999_999)),
])
def test_level_shares_add_up_to_the_fen(amount, shares, expected):
    assert calc.split_shares(amount, shares) == expected
    batch = calc_batch.split_shares_batch(np.array([amount]), np.array([shares]))
    assert tuple(batch[0].tolist()) == expected and sum(expected) == amount


def test_level_shares_add_up_for_many_random_amounts():
    rng = np.random.default_rng(7)
    amounts = rng.integers(0, 10**9, 5000)
    cuts = np.sort(rng.integers(0, 10_001, (5000, 3)), axis=1)
    shares = np.diff(np.concatenate([np.zeros((5000, 1), int), cuts, np.full((5000, 1), 10_000)], axis=1))
    parts = calc_batch.split_shares_batch(amounts, shares)
    assert (parts.sum(axis=1) == amounts).all() and (parts >= 0).all()
    assert (np.abs(parts * 10_000 - amounts[:, None] * shares) < 10_000).all()   # each within a fen of exact
    for i in range(0, 5000, 500):
        assert tuple(parts[i].tolist()) == calc.split_shares(int(amounts[i]), tuple(shares[i].tolist()))


# ---- the batch holds to the reference

def _columns(facts):
    paths = np.array([f.path for f in facts], dtype=object)
    h = calc_batch.Households(
        ids=np.array([f.id for f in facts], dtype=np.int64), villages=[f.village for f in facts], paths=paths,
        states=np.array([f.state for f in facts], dtype=object),
        flags=np.array([[flag in f.flags for flag in terms.FLAGS] for f in facts], dtype=bool),
        area=np.array([f.area for f in facts], dtype=np.int64), retrofitted=np.array([f.retrofitted for f in facts]),
        devices=np.array([f.device for f in facts], dtype=object),
        price=np.array([terms.NONE if f.price is None else f.price for f in facts], dtype=np.int64),
        equipment=[f.equipment for f in facts],
        accepted_on=np.array([f.accepted_on.toordinal() if f.accepted_on else 0 for f in facts], dtype=np.int64),
        entered_on=np.array([f.entered_on.toordinal() if f.entered_on else 0 for f in facts], dtype=np.int64),
        first_season=np.array([terms.NONE if f.first_season is None else f.first_season for f in facts],
                              dtype=np.int64))
    rows = [(i, r) for i, f in enumerate(facts) for r in f.readings]
    r = calc_batch.Readings(np.array([i for i, _ in rows], dtype=np.int64), np.array([x.season for _, x in rows], np.int64),
                      np.array([x.unit for _, x in rows], dtype=object), np.array([x.opening for _, x in rows], np.int64),
                      np.array([x.closing for _, x in rows], np.int64),
                      np.array([x.read_on.toordinal() if x.read_on else 0 for _, x in rows], np.int64))
    return h, r


def as_rows(lines, ids=None):
    if isinstance(lines, calc_batch.Lines):
        return sorted((int(ids[row]), k, int(s), u, int(a), tuple(sh), ar, inp) for row, k, s, u, a, sh, ar, inp in zip(
            lines.row, lines.kind, lines.season, lines.unit, lines.amount, lines.shares.tolist(), lines.arithmetic,
            lines.inputs))
    return sorted((x.household_id, x.kind, x.season, x.unit, x.amount, x.shares, x.arithmetic, x.inputs) for x in lines)


def test_batch_and_per_household_give_identical_lines():
    rng = np.random.default_rng(16)
    facts = []
    for i in range(600):
        path = ["electric", "central", "gas"][i % 3]
        accepted = rng.random() < 0.8
        facts.append(household(
            id=i + 1, village=["140902101201", "140921101201"][i % 2], path=path, state="accepted" if accepted else "installed",
            device=["ashp_air", "storage", ""][i % 3] if path == "electric" else "",
            price=int(rng.integers(100_000, 3_000_000)) if path == "electric" and i % 7 else None,
            flags=frozenset(f for f in terms.FLAGS if rng.random() < 0.2), area=int(rng.integers(300, 2000)),
            retrofitted=bool(rng.random() < 0.5), accepted_on=date(2022, 1 + i % 12, 1 + i % 28) if accepted else None,
            readings=tuple(Reading(2022 + k, "kwh", 1000 * k, 1000 * k + int(rng.integers(0, 2_000_000)))
                           for k in range(i % 5))))
    h, r = _columns(facts)
    policies = {"1409": (V1, Policy(15, 2, "测试政策", date(2022, 7, 1), None, (AIR, KWH), TILTS[:2]))}
    lines, stats = calc_batch.batch_lines(h, r, policies, LABELS)
    reference = [x for f in facts for x in calc.household_lines(f, policies, LABELS)]
    assert len(reference) > 500
    assert as_rows(lines, h.ids) == as_rows(reference)
    assert stats["households"] == 600 and stats["awaiting_price"] > 0
