"""Cost parity between heating paths (§三(六) "保持不同取暖路径居民用能价格接近"): each path's
average yearly net heating cost per family after subsidies, and the spread between paths. Pure,
no Django.

Method: the figures are the equipment advisor's (procurement.selection.evaluate, stored per
household as procurement.Advice.own_path_cost): for the household's own path and its best fitting
model, (contract price − equipment subsidy) / service life + seasonal energy cost − operating
subsidy, in whole yuan a year; for central heating the heating charge less its subsidy. A path's
average is the plain mean over its families with a figure (sum / count, rounded half up to the
yuan at display); the spread is the highest average less the lowest, also as a percentage of
the lowest; each path's gap is its average less the lowest average.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class PathCost:
    path: str
    label: str
    families: int
    average: float          # yuan per family per year
    gap: float              # above the cheapest path's average, yuan
    gap_pct: float | None   # the gap as % of the cheapest average (None when that is 0)


@dataclass(frozen=True)
class Parity:
    paths: list
    spread: float | None        # yuan: highest average − lowest average (None: fewer than 2 paths)
    spread_pct: float | None    # % of the lowest average
    cheapest: str | None
    dearest: str | None


def parity(rows, labels: dict) -> Parity:
    """rows: (path, families with a figure, sum of their yearly net costs in yuan); labels: path → name.
    Paths without families are left out."""
    averages = [(path, n, total / n) for path, n, total in rows if n]
    if not averages:
        return Parity([], None, None, None, None)
    low = min(a for _, _, a in averages)
    high = max(a for _, _, a in averages)
    paths = [PathCost(path, labels.get(path, path), n, avg, avg - low, 100 * (avg - low) / low if low else None)
             for path, n, avg in sorted(averages, key=lambda r: r[2])]
    several = len(averages) > 1
    return Parity(paths, high - low if several else None,
                  (100 * (high - low) / low if low else None) if several else None,
                  paths[0].path, paths[-1].path)
