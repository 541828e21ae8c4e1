"""Breaking a target down to the units below (county → townships → villages). Pure, no Django.

Whole households in, whole households out: the parts always add up exactly to the whole, so a
county's figures equal the sum of its townships' (largest-remainder rounding)."""


def apportion(total: int, weights: dict) -> dict:
    """`total` split in proportion to `weights` ({unit: weight ≥ 0}); equal shares when every weight
    is zero. Remainders go to the largest fractions (ties: the first unit in key order)."""
    units = sorted(weights)
    if not units:
        return {}
    if not any(weights[u] for u in units):
        weights = {u: 1 for u in units}
    whole = sum(weights[u] for u in units)
    shares = {u: total * weights[u] // whole for u in units}
    left = total - sum(shares.values())
    by_fraction = sorted(units, key=lambda u: (-(total * weights[u] % whole), u))
    for u in by_fraction[:left]:
        shares[u] += 1
    return shares


def split(targets: dict, expected: dict, households: dict, *, stated: dict | None = None) -> dict:
    """One unit's targets and schedule (both {path: households}) shared among its child units.

    households: {child: {path: active households in the ledger}} — the default shares, in proportion
    to households confirmed in each child (for a path the parent has none of: all its households).
    stated: {child: {path: target}} as the parent's office set them (used as the shares: they equal
    the result while they add up to the parent's target, and are scaled when that target changed).
    Answers {child: {"targets": {path: n}, "expected": {path: n}}}; each child's expected share is
    in proportion to its target, so the children's expected add up to the parent's."""
    children = sorted(households)
    result = {c: {"targets": {}, "expected": {}} for c in children}
    totals = {c: sum(households[c].values()) for c in children}
    for path, target in targets.items():
        if stated:
            weights = {c: stated.get(c, {}).get(path, 0) for c in children}
        else:
            weights = {c: households[c].get(path, 0) for c in children}
            if not any(weights.values()):
                weights = totals
        shares = apportion(target, weights)
        due = apportion(expected.get(path, 0), shares)
        for c in children:
            result[c]["targets"][path] = shares.get(c, 0)
            result[c]["expected"][path] = due.get(c, 0)
    return result
