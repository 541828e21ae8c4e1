"""Subsidy entitlements from policy data: pure arithmetic, no Django. Units as in `terms`; each
product is rounded once, half up, to the fen.

`household_lines` works on one household at a time and is the reference; `calc_batch.batch_lines`
does the same with NumPy arrays for a whole city (the tests hold both to identical lines, and both
phrase their lines through `explain`).

The rules, as the household page explains them:
- The policy version is the one in force on the household's policy date: the day it reached
  已验收, or, while it has not, the day it entered the programme (its first lifecycle step). A
  county's own policy for the year replaces the city's.
- Equipment subsidy: at 已验收 or later. The item of the household's path and allocated device
  type is used (one for the device type before one for the whole path, before one for all paths):
  a share of the allocated contract line's unit price, with an optional cap, or a fixed amount;
  never more than the contract price.
- Envelope subsidy: for a household with envelope_retrofitted, per m² of its heated area.
- Operating subsidy: per heating season with an energy reading (closing − opening), at 已验收 or
  later, from the first season that ends after acceptance, for the item's number of seasons,
  capped per season.
- Tilt: for each effect (higher share, higher cap, extra amount) the most favourable value among
  the household's flags applies; flags are not added up.
- Level shares: each level's exact share rounded down to the fen; the fen left over (at most
  three) go one each to the levels with the largest remainders, the lower level first on a tie
  (county, then city, provincial, central), so the four always add up to the line.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from cleanheat.ledger.lifecycle import STEPS

from . import explain
from .terms import ACCEPTED, BP

SEASON_START_MONTH = 7  # without season data, a season is named by the year it starts in, from July


# ---- policy and household facts

@dataclass(frozen=True)
class Item:
    id: int
    position: int
    kind: str
    label: str = ""
    path: str = ""
    device: str = ""
    method: str = ""                 # equipment: "share" or "fixed"
    share_bp: int | None = None
    cap_fen: int | None = None       # operating: per season
    fixed_fen: int | None = None
    rate: int | None = None          # envelope: fen per m²; operating: 1/10000 yuan per unit
    unit: str = ""
    seasons: int | None = None
    shares_bp: tuple = (0, 0, 0, BP)

    @property
    def specificity(self) -> int:
        return (2 if self.device else 0) + (1 if self.path else 0)


@dataclass(frozen=True)
class Tilt:
    flag: str
    kind: str
    path: str = ""
    share_bp: int | None = None
    cap_fen: int | None = None
    extra_fen: int | None = None


@dataclass(frozen=True, eq=False)   # compared and hashed by identity: the batch's text memo keys on it
class Policy:
    id: int
    version: int
    title: str
    effective_from: date
    effective_until: date | None = None
    items: tuple = ()
    tilts: tuple = ()

    @property
    def name(self) -> str:
        return f"{self.title} 第{self.version}版"


@dataclass(frozen=True)
class Reading:
    season: int
    unit: str
    opening: int     # hundredths of a unit
    closing: int
    read_on: date | None = None


@dataclass(frozen=True)
class Facts:
    id: int
    village: str
    path: str
    state: str
    flags: frozenset = frozenset()
    area: int = 0                    # tenths of a m²
    retrofitted: bool = False
    device: str = ""                 # equipment type of the allocated model
    price: int | None = None         # unit price of the allocated contract line, fen
    equipment: str = ""              # the allocated model and contract as a person reads them
    accepted_on: date | None = None
    entered_on: date | None = None
    first_season: int | None = None
    readings: tuple = ()


@dataclass(frozen=True, eq=False)
class Labels:
    """What codes read as (paths, lifecycle states, device types), for the stored texts."""
    paths: dict = field(default_factory=dict)
    states: dict = field(default_factory=dict)
    devices: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    household_id: int
    policy_id: int
    item_id: int
    kind: str
    season: int                      # 0 unless operating
    unit: str                        # "" unless operating
    amount: int                      # fen
    shares: tuple                    # fen per level (central, provincial, city, county)
    arithmetic: str
    inputs: str


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


# ---- which policy, which item, which tilt

def versions_for(village: str, versions_by_prefix: dict) -> tuple:
    """The versions of the county's own policy, else the city's (each in effective_from order)."""
    return versions_by_prefix.get(village[:6]) or versions_by_prefix.get(village[:4]) or ()


def version_end(versions, i: int) -> date | None:
    v = versions[i]
    if v.effective_until is not None:
        return v.effective_until
    return versions[i + 1].effective_from - timedelta(days=1) if i + 1 < len(versions) else None


def in_force(versions, day: date | None):
    """The version in force on `day` (None before the first, after the last one's end, or on a gap)."""
    if day is None:
        return None
    chosen = None
    for i, v in enumerate(versions):
        if v.effective_from <= day:
            chosen = i
    if chosen is None:
        return None
    end = version_end(versions, chosen)
    return versions[chosen] if end is None or day <= end else None


def policy_date(f: Facts) -> tuple[date | None, str]:
    if STEPS.index(f.state) >= ACCEPTED and f.accepted_on:
        return f.accepted_on, "验收日期"
    return f.entered_on, "纳入改造日期"


def first_season(accepted_on: date | None, seasons) -> int | None:
    """The first heating season that ends on or after acceptance, named by the year it starts
    in; `seasons`: [(start, end)] of the household's area (none: seasons start in July)."""
    if accepted_on is None:
        return None
    for start, end in sorted(seasons):
        if end >= accepted_on:
            return start.year
    return accepted_on.year if accepted_on.month >= SEASON_START_MONTH else accepted_on.year - 1


def item_for(items, kind: str, path: str, device: str = "", unit: str = ""):
    best = None
    for it in items:
        if it.kind != kind or (it.path and it.path != path) or (it.device and it.device != device) \
                or (kind == "operating" and it.unit != unit):
            continue
        if best is None or it.specificity > best.specificity:
            best = it
    return best


@dataclass(frozen=True)
class Effects:
    share: int | None
    share_by: str
    cap: int | None
    cap_by: str
    extra: int
    extra_by: str


def effects(item: Item, tilts, path: str, flags) -> Effects:
    """The item's share and cap, raised by the household's tilt rules; the extra amount."""
    share, share_by, cap, cap_by, extra, extra_by = item.share_bp, "", item.cap_fen, "", 0, ""
    for t in tilts:
        if t.kind != item.kind or (t.path and t.path != path) or t.flag not in flags:
            continue
        if t.share_bp is not None and share is not None and t.share_bp > share:
            share, share_by = t.share_bp, t.flag
        if t.cap_fen is not None and cap is not None and t.cap_fen > cap:
            cap, cap_by = t.cap_fen, t.flag
        if t.extra_fen is not None and t.extra_fen > extra:
            extra, extra_by = t.extra_fen, t.flag
    return Effects(share, share_by, cap, cap_by, extra, extra_by)


def split_shares(amount: int, shares_bp) -> tuple:
    exact = [amount * b for b in shares_bp]
    parts = [e // BP for e in exact]
    left = amount - sum(parts)
    for i in sorted(range(len(parts)), key=lambda i: (-(exact[i] % BP), -i))[:left]:
        parts[i] += 1
    return tuple(parts)


def _amounts(base: int, cap: int | None, extra: int, price: int | None = None) -> tuple[int, int]:
    value = min(base, cap) if cap is not None else base
    total = value + extra
    return value, (min(total, price) if price is not None else total)


def household_lines(f: Facts, versions_by_prefix: dict, labels: Labels) -> list[Line]:
    day, basis = policy_date(f)
    policy = in_force(versions_for(f.village, versions_by_prefix), day)
    if policy is None:
        return []
    lines = []
    accepted = STEPS.index(f.state) >= ACCEPTED

    def add(item, season, amount, arithmetic, inputs):
        lines.append(Line(f.id, policy.id, item.id, item.kind, season, item.unit if season else "", amount,
                          split_shares(amount, item.shares_bp), arithmetic, inputs))

    item = item_for(policy.items, "equipment", f.path, device=f.device) if accepted else None
    if item is not None and (item.method == "fixed" or f.price is not None):
        e = effects(item, policy.tilts, f.path, f.flags)
        base = _half_up(f.price * e.share, BP) if item.method == "share" else item.fixed_fen
        value, amount = _amounts(base, e.cap if item.method == "share" else None, e.extra, f.price)
        add(item, 0, amount,
            explain.equipment_arithmetic(item.method, f.price, e.share, e.share_by, e.cap if item.method == "share" else None,
                                 e.cap_by, item.fixed_fen, base, value, e.extra, e.extra_by, amount),
            explain.equipment_inputs(day, basis, f.path, f.equipment, f.price, f.state, f.accepted_on, f.flags, labels))
    item = item_for(policy.items, "envelope", f.path) if f.retrofitted else None
    if item is not None:
        e = effects(item, policy.tilts, f.path, f.flags)
        base = _half_up(f.area * item.rate, 10)
        value, amount = _amounts(base, e.cap, e.extra)
        add(item, 0, amount, explain.envelope_arithmetic(f.area, item.rate, e.cap, e.cap_by, e.extra, e.extra_by, base, value,
                                                 amount),
            explain.envelope_inputs(day, basis, f.area, f.state, f.flags, labels))
    if accepted and f.first_season is not None:
        for r in f.readings:
            index = r.season - f.first_season + 1
            item = item_for(policy.items, "operating", f.path, unit=r.unit)
            if item is None or not 1 <= index <= item.seasons:
                continue
            e = effects(item, policy.tilts, f.path, f.flags)
            use = r.closing - r.opening
            base = _half_up(use * item.rate, BP)
            value, amount = _amounts(base, e.cap, e.extra)
            add(item, r.season, amount,
                explain.operating_arithmetic(r.season, r.unit, use, item.rate, e.cap, e.cap_by, e.extra, e.extra_by, base,
                                     value, amount),
                explain.operating_inputs(day, basis, r.unit, r.opening, r.closing, r.read_on, index,
                                 item.seasons, f.first_season, f.flags))
    return lines
