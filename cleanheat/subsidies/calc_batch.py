"""calc.household_lines for a whole city at once: NumPy for the choice of version and item, the
tilts, the amounts and the level shares; the texts phrased through `explain` once per distinct line
of input (most lines share their policy, equipment, state and flag lines), so that the per-line
Python work is a few dictionary look-ups and a join. Pure, no Django."""
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from cleanheat.ledger.lifecycle import STEPS

from . import explain
from .calc import Facts, Item, Labels, Reading, version_end, versions_for
from .terms import ACCEPTED, BP, FLAGS, HUNDREDTHS, NONE

FLAG_BITS = np.array([1, 2, 4, 8])
FLAG_SETS = [frozenset(f for i, f in enumerate(FLAGS) if code >> i & 1) for code in range(16)]


@dataclass
class Households:
    """Columns of many households as the loader reads them; NONE (or 0 for days) where missing."""
    ids: np.ndarray                  # int64
    villages: list                   # 12-digit codes
    paths: np.ndarray                # str
    states: np.ndarray               # str
    flags: np.ndarray                # bool (n, 4), in FLAGS order
    area: np.ndarray                 # int64, tenths of a m²
    retrofitted: np.ndarray          # bool
    devices: np.ndarray              # str, "" without an allocation
    price: np.ndarray                # int64 fen
    equipment: list                  # str
    accepted_on: np.ndarray          # int64 day ordinals
    entered_on: np.ndarray           # int64 day ordinals
    first_season: np.ndarray         # int64

    def __len__(self):
        return len(self.ids)


@dataclass
class Readings:
    row: np.ndarray                  # int64: the household's row in Households
    season: np.ndarray               # int64
    unit: np.ndarray                 # str
    opening: np.ndarray              # int64 hundredths
    closing: np.ndarray
    read_on: np.ndarray              # int64 day ordinals, 0 = not given

    def __len__(self):
        return len(self.row)


@dataclass
class Lines:
    """The batch's result, column by column (row: the household's row in Households)."""
    row: np.ndarray
    policy: np.ndarray
    item: np.ndarray
    kind: list
    season: np.ndarray
    unit: list
    amount: np.ndarray
    shares: np.ndarray               # (n, 4)
    arithmetic: list
    inputs: list

    def __len__(self):
        return len(self.row)


def _date(ordinal: int) -> date | None:
    return date.fromordinal(ordinal) if ordinal > 0 else None


def _or_none(value: int):
    return None if value == NONE else value


def _flag_name(index: int) -> str:
    return FLAGS[index] if index != NONE else ""


def _half_up_batch(numerator, denominator: int):
    return (2 * numerator + denominator) // (2 * denominator)


def split_shares_batch(amounts: np.ndarray, shares_bp: np.ndarray) -> np.ndarray:
    """split_shares for many lines: amounts (n,), shares_bp (n, 4) → fen (n, 4)."""
    exact = amounts[:, None] * shares_bp
    parts = exact // BP
    left = amounts - parts.sum(axis=1)
    key = (exact % BP) * 4 + np.arange(4)[None, :]   # larger remainder first, then the lower level
    order = np.argsort(-key, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(4), order.shape).copy(), axis=1)
    return parts + (rank < left[:, None])


def _codes(values) -> tuple[np.ndarray, list]:
    """Each value's index among the distinct values (in order of first appearance), and those values."""
    index = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    return np.array(codes, dtype=np.int64), list(index)


def _distinct(values: np.ndarray) -> tuple[np.ndarray, list]:
    """_codes for a text array (sorted in C)."""
    found, codes = np.unique(values, return_inverse=True)
    return codes.ravel().astype(np.int64), found.tolist()


def _per_distinct(columns, phrase) -> list[str]:
    """phrase(*values) once per distinct row of the integer `columns`, given back for every row
    (rows grouped by a lexicographic sort: np.unique(axis=0) sorts rows far more slowly)."""
    n = len(columns[0])
    if not n:
        return []
    columns = [np.asarray(c, dtype=np.int64) for c in columns]
    order = np.lexsort(columns[::-1])
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    for c in columns:
        ranked = c[order]
        starts[1:] |= ranked[1:] != ranked[:-1]
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    firsts = order[starts]
    texts = [phrase(*row) for row in zip(*(c[firsts].tolist() for c in columns))]
    return [texts[i] for i in group.tolist()]


def _hundredths_all(values: np.ndarray) -> list[str]:
    whole, frac = np.divmod(values, 100)
    return [f"{w:,}{HUNDREDTHS[f]}" for w, f in zip(whole.tolist(), frac.tolist())]


class _Collector:
    """Lines gathered item by item, then joined into Lines; every text phrased once per distinct
    value of what it says, then given to each line (the per-line work is a join)."""

    def __init__(self, h: Households, labels: Labels, day, on_acceptance, states):
        self.h, self.labels, self.parts = h, labels, []
        self.day, self.on_acceptance = day, on_acceptance
        self.flag_code = (h.flags * FLAG_BITS).sum(axis=1) if len(h) else np.zeros(0, dtype=np.int64)
        self.flag_lines = [explain.flags_line(flags) for flags in FLAG_SETS]
        self.path_code, paths = _distinct(h.paths)
        self.path_lines = [explain.path_line(p, labels) for p in paths]
        self.state_code, self.state_names = states

    def heads(self, rows) -> list[str]:
        return _per_distinct([self.day[rows], self.on_acceptance[rows].astype(np.int64)], lambda day, on: (
            explain.basis_line(date.fromordinal(day), "验收日期" if on else "纳入改造日期")))

    def flags(self, rows) -> list[str]:
        return [self.flag_lines[c] for c in self.flag_code[rows].tolist()]

    def states(self, rows, with_date: bool) -> list[str]:
        h, names, labels = self.h, self.state_names, self.labels
        return _per_distinct([self.state_code[rows], h.accepted_on[rows] if with_date else np.zeros(len(rows), np.int64)],
                             lambda code, day: explain.state_line(names[code], labels, _date(day), with_date))

    def add(self, rows, policy, item, season, amount, arithmetic, inputs):
        self.parts.append((rows, policy.id, item, season, amount, arithmetic, inputs))

    def lines(self) -> Lines:
        if not self.parts:
            empty = np.zeros(0, dtype=np.int64)
            return Lines(empty, empty, empty, [], empty, [], empty, np.zeros((0, 4), dtype=np.int64), [], [])
        amount = np.concatenate([p[4] for p in self.parts]).astype(np.int64)
        shares_bp = np.concatenate([np.broadcast_to(np.array(p[2].shares_bp, dtype=np.int64), (len(p[0]), 4))
                                    for p in self.parts])
        return Lines(np.concatenate([p[0] for p in self.parts]),
                     np.concatenate([np.full(len(p[0]), p[1]) for p in self.parts]),
                     np.concatenate([np.full(len(p[0]), p[2].id) for p in self.parts]),
                     [p[2].kind for p in self.parts for _ in range(len(p[0]))],
                     np.concatenate([p[3] for p in self.parts]),
                     [p[2].unit if p[2].kind == "operating" else "" for p in self.parts for _ in range(len(p[0]))],
                     amount, split_shares_batch(amount, shares_bp),
                     [t for p in self.parts for t in p[5]], [t for p in self.parts for t in p[6]])


def _joined(*columns) -> list[str]:
    """explain.joined for every row of the text columns."""
    return ["\n".join(filter(None, parts)) for parts in zip(*columns)]


def _assign(items, paths, devices, units=None, unit_of=None):
    """For each row, the index of its most specific item (NONE: none applies)."""
    assigned = np.full(len(paths), NONE)
    for j in sorted(range(len(items)), key=lambda j: -items[j].specificity):
        it = items[j]
        m = assigned == NONE
        if it.path:
            m &= paths == it.path
        if it.device:
            m &= devices == it.device if devices is not None else False
        if units is not None:
            m &= units == it.unit
        assigned[m] = j
    return assigned


def _tilted(item: Item, tilts, paths, flags):
    """Per row: share, share_by, cap, cap_by, extra, extra_by (flag indexes; NONE = the item's own)."""
    n = len(paths)
    share = np.full(n, NONE if item.share_bp is None else item.share_bp, dtype=np.int64)
    cap = np.full(n, NONE if item.cap_fen is None else item.cap_fen, dtype=np.int64)
    extra = np.zeros(n, dtype=np.int64)
    share_by, cap_by, extra_by = (np.full(n, NONE) for _ in range(3))
    for t in tilts:
        if t.kind != item.kind:
            continue
        m = flags[:, FLAGS.index(t.flag)].copy()
        if t.path:
            m &= paths == t.path
        flag = FLAGS.index(t.flag)
        for value, column, by, applies in ((t.share_bp, share, share_by, item.share_bp is not None),
                                           (t.cap_fen, cap, cap_by, item.cap_fen is not None),
                                           (t.extra_fen, extra, extra_by, True)):
            if value is not None and applies:
                up = m & (value > column)
                column[up] = value
                by[up] = flag
    return share, share_by, cap, cap_by, extra, extra_by


def _equipment_batch(policy, rows, h: Households, out: _Collector, stats: dict):
    items = [it for it in policy.items if it.kind == "equipment"]
    if not items or not len(rows):
        return
    assigned = _assign(items, h.paths[rows], h.devices[rows])
    for j, it in enumerate(items):
        sel = rows[assigned == j]
        price = h.price[sel]
        if it.method == "share":
            has = price != NONE
            stats["awaiting_price"] += int((~has).sum())
            sel, price = sel[has], price[has]
        if not len(sel):
            continue
        share, share_by, cap, cap_by, extra, extra_by = _tilted(it, policy.tilts, h.paths[sel], h.flags[sel])
        if it.method == "share":
            base = _half_up_batch(price * share, BP)
            value = np.where(cap != NONE, np.minimum(base, cap), base)
        else:
            base = value = np.full(len(sel), it.fixed_fen, dtype=np.int64)
            cap = np.full(len(sel), NONE)
        total = value + extra
        amount = np.where((price != NONE) & (total > price), price, total)
        arithmetic = _per_distinct([price, share, share_by, cap, cap_by, base, value, extra, extra_by, amount], (
            lambda p, s, sb, c, cb, b, v, e, eb, a: explain.equipment_arithmetic(
                it.method, _or_none(p), _or_none(s), _flag_name(sb), _or_none(c), _flag_name(cb), it.fixed_fen, b, v,
                e, _flag_name(eb), a)))
        which, allocated = _codes(h.equipment[i] for i in sel.tolist())
        equipment = [explain.equipment_line(text) for text in allocated]
        inputs = _joined(out.heads(sel), [out.path_lines[c] for c in out.path_code[sel].tolist()],
                         [equipment[c] for c in which.tolist()],
                         _per_distinct([price], lambda p: explain.price_line(_or_none(p))),
                         out.states(sel, True), out.flags(sel))
        out.add(sel, policy, it, np.zeros(len(sel), dtype=np.int64), amount, arithmetic, inputs)


def _envelope_batch(policy, rows, h: Households, out: _Collector):
    items = [it for it in policy.items if it.kind == "envelope"]
    if not items or not len(rows):
        return
    assigned = _assign(items, h.paths[rows], None)
    for j, it in enumerate(items):
        sel = rows[assigned == j]
        if not len(sel):
            continue
        _, _, cap, cap_by, extra, extra_by = _tilted(it, policy.tilts, h.paths[sel], h.flags[sel])
        area = h.area[sel]
        base = _half_up_batch(area * it.rate, 10)
        value = np.where(cap != NONE, np.minimum(base, cap), base)
        amount = value + extra
        arithmetic = _per_distinct([area, cap, cap_by, extra, extra_by, base, value, amount], (
            lambda ar, c, cb, e, eb, b, v, a: explain.envelope_arithmetic(ar, it.rate, _or_none(c), _flag_name(cb), e,
                                                                        _flag_name(eb), b, v, a)))
        inputs = _joined(out.heads(sel), _per_distinct([area], explain.area_line), out.states(sel, False),
                         out.flags(sel))
        out.add(sel, policy, it, np.zeros(len(sel), dtype=np.int64), amount, arithmetic, inputs)


def _operating_batch(policy, sel, h: Households, r: Readings, out: _Collector):
    """sel: the readings (indexes into r) of households under this policy, accepted, with a first season."""
    items = [it for it in policy.items if it.kind == "operating"]
    if not items or not len(sel):
        return
    assigned = _assign(items, h.paths[r.row[sel]], None, units=r.unit[sel])
    for j, it in enumerate(items):
        mine = sel[assigned == j]
        index = r.season[mine] - h.first_season[r.row[mine]] + 1
        mine = mine[(index >= 1) & (index <= it.seasons)]
        if not len(mine):
            continue
        rows, season, start = r.row[mine], r.season[mine], h.first_season[r.row[mine]]
        _, _, cap, cap_by, extra, extra_by = _tilted(it, policy.tilts, h.paths[rows], h.flags[rows])
        use = r.closing[mine] - r.opening[mine]
        base = _half_up_batch(use * it.rate, BP)
        value = np.where(cap != NONE, np.minimum(base, cap), base)
        amount = value + extra
        arithmetic = _per_distinct([season, use, cap, cap_by, extra, extra_by, base, value, amount], (
            lambda s, u, c, cb, e, eb, b, v, a: explain.operating_arithmetic(s, it.unit, u, it.rate, _or_none(c),
                                                                           _flag_name(cb), e, _flag_name(eb), b, v, a)))
        read_on = _per_distinct([r.read_on[mine]], lambda d: explain.read_on_text(_date(d)))
        readings = [explain.reading_line(it.unit, o, c, d, u) for o, c, d, u in zip(
            _hundredths_all(r.opening[mine]), _hundredths_all(r.closing[mine]), read_on, _hundredths_all(use))]
        inputs = _joined(out.heads(rows), readings,
                         _per_distinct([season - start + 1, start], lambda i, s: explain.seasons_line(i, it.seasons, s)),
                         out.flags(rows))
        out.add(rows, policy, it, season.astype(np.int64), amount, arithmetic, inputs)


def _versions(villages, day, versions_by_prefix):
    """Per household the index of its policy version in the returned list (NONE: none in force)."""
    version_of = np.full(len(villages), NONE)
    if not len(villages):
        return version_of, []
    counties, inverse = np.unique(np.array([v[:6] for v in villages]), return_inverse=True)
    policies, index = [], {}
    for u, county in enumerate(counties.tolist()):
        versions = versions_for(county, versions_by_prefix)
        if not versions:
            continue
        rows = np.flatnonzero(inverse == u)
        starts = np.array([v.effective_from.toordinal() for v in versions])
        ends = np.array([(version_end(versions, i) or date.max).toordinal() for i in range(len(versions))])
        k = np.searchsorted(starts, day[rows], side="right") - 1
        ok = (day[rows] > 0) & (k >= 0) & (day[rows] <= ends[np.maximum(k, 0)])
        for v in versions:
            if v.id not in index:
                index[v.id] = len(policies)
                policies.append(v)
        gidx = np.array([index[v.id] for v in versions])
        version_of[rows[ok]] = gidx[k[ok]]
    return version_of, policies


def batch_lines(h: Households, r: Readings, versions_by_prefix: dict, labels: Labels) -> tuple[Lines, dict]:
    """household_lines for every household at once. Returns the lines and counts: households,
    no_policy (a policy date, but no version in force on it), awaiting_price (accepted, under a
    share item, but no allocated contract price yet)."""
    # texts as fixed-width arrays: comparing them with a value runs in C
    h = replace(h, paths=np.asarray(h.paths, dtype=str), states=np.asarray(h.states, dtype=str),
                devices=np.asarray(h.devices, dtype=str))
    r = replace(r, unit=np.asarray(r.unit, dtype=str))
    state_code, state_names = _distinct(h.states)
    rank = np.array([STEPS.index(name) for name in state_names], dtype=np.int64)[state_code] if len(h) \
        else np.zeros(0, np.int64)
    accepted = rank >= ACCEPTED
    on_acceptance = accepted & (h.accepted_on > 0)
    day = np.where(on_acceptance, h.accepted_on, h.entered_on)
    version_of, policies = _versions(h.villages, day, versions_by_prefix)
    stats = {"households": len(h), "no_policy": int(((version_of == NONE) & (day > 0)).sum()), "awaiting_price": 0}
    out = _Collector(h, labels, day, on_acceptance, (state_code, state_names))
    read_ok = (accepted[r.row] & (h.first_season[r.row] != NONE)) if len(r) else np.zeros(0, dtype=bool)
    read_version = version_of[r.row] if len(r) else np.zeros(0, dtype=np.int64)
    for g, policy in enumerate(policies):
        rows = np.flatnonzero(version_of == g)
        _equipment_batch(policy, rows[accepted[rows]], h, out, stats)
        _envelope_batch(policy, rows[h.retrofitted[rows]], h, out)
        _operating_batch(policy, np.flatnonzero((read_version == g) & read_ok), h, r, out)
    return out.lines(), stats


def facts_of(h: Households, r: Readings) -> list[Facts]:
    """The same households as one Facts each (the per-household way, and the tests)."""
    readings = [[] for _ in range(len(h))]
    for row, season, unit, opening, closing, read_on in zip(r.row.tolist(), r.season.tolist(), r.unit.tolist(),
                                                             r.opening.tolist(), r.closing.tolist(),
                                                             r.read_on.tolist()):
        readings[row].append(Reading(season, unit, opening, closing, _date(read_on)))
    return [Facts(id=int(h.ids[i]), village=h.villages[i], path=str(h.paths[i]), state=str(h.states[i]),
                  flags=frozenset(f for f, on in zip(FLAGS, h.flags[i].tolist()) if on), area=int(h.area[i]),
                  retrofitted=bool(h.retrofitted[i]), device=str(h.devices[i]), price=_or_none(int(h.price[i])),
                  equipment=h.equipment[i], accepted_on=_date(int(h.accepted_on[i])),
                  entered_on=_date(int(h.entered_on[i])), first_season=_or_none(int(h.first_season[i])),
                  readings=tuple(readings[i])) for i in range(len(h))]
