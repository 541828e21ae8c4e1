"""A reproducible stratified random sample of households (no Django).

Method: the households are grouped by unit (township: the first 9 digits of the village code; county:
the first 6) and, within a unit, stratified by heating path. A unit's sample size follows the rule
(data/sampling.json, copied onto each round): ceil(share × households), at least `minimum`, never more
than the unit has. The size is shared among the unit's paths in proportion to their households by the
largest-remainder method (Hamilton), each path with households getting at least one place while places
remain, so that every path is inspected. Within a stratum the households are ordered by id and drawn
with `random.Random` seeded by the round's stored seed and the stratum's name: the same seed and the
same households give the same sample whatever else changed elsewhere in the city. Households sampled
in the previous round may be left out (`exclude`) before sizes are computed.
Source of the rule: 《实施方案》五(三) 自查、五(四) 考核 (the sampling share is the city's choice, data).
"""
import math
import random
from collections import defaultdict
from dataclasses import dataclass

UNIT_DIGITS = {"township": 9, "county": 6}


@dataclass(frozen=True)
class Rule:
    level: str          # "township" or "county"
    share: float        # e.g. 0.05
    minimum: int        # e.g. 10

    def size(self, n: int) -> int:
        if n <= 0:
            return 0
        return min(n, max(self.minimum, math.ceil(self.share * n - 1e-9)))


def allocate(total: int, counts: dict) -> dict:
    """`total` places shared among strata in proportion to `counts` (largest remainder), each stratum
    getting at least one place while places remain; never more than a stratum holds."""
    keys = sorted(k for k, c in counts.items() if c > 0)
    if total <= 0 or not keys:
        return {k: 0 for k in counts}
    n = sum(counts[k] for k in keys)
    out = {k: 0 for k in counts}
    if total >= len(keys):
        for k in keys:
            out[k] = 1
    else:  # fewer places than paths: the largest paths first
        for k in sorted(keys, key=lambda k: (-counts[k], k))[:total]:
            out[k] = 1
        return out
    left = total - len(keys)
    quotas = {k: left * counts[k] / n for k in keys}
    for k in keys:
        out[k] += min(int(quotas[k]), counts[k] - out[k])
    rest = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(quotas[k] - int(quotas[k])), -counts[k], k)):
        if rest <= 0:
            break
        if out[k] < counts[k]:
            out[k] += 1
            rest -= 1
    while rest > 0:  # a stratum was full: the others take the rest
        room = [k for k in keys if out[k] < counts[k]]
        if not room:
            break
        for k in room:
            if rest <= 0:
                break
            out[k] += 1
            rest -= 1
    return out


def draw(households, rule: Rule, seed: int, exclude=frozenset()) -> list[tuple]:
    """households: (id, village code, heating path) rows. Returns the sample as (id, unit code,
    path) rows, ordered by unit, path and id."""
    digits = UNIT_DIGITS[rule.level]
    strata = defaultdict(lambda: defaultdict(list))
    for pk, village, path in households:
        if pk not in exclude:
            strata[village[:digits]][path].append(pk)
    sample = []
    for unit in sorted(strata):
        paths = strata[unit]
        sizes = allocate(rule.size(sum(map(len, paths.values()))), {p: len(ids) for p, ids in paths.items()})
        for path in sorted(paths):
            ids = sorted(paths[path])
            chosen = random.Random(f"{seed}:{unit}:{path}").sample(ids, sizes[path])
            sample += [(pk, unit, path) for pk in sorted(chosen)]
    return sample
