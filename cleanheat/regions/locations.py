"""Where regions lie (村庄坐标表): the point a village's photos and visits are measured from.

A village without coordinates is measured from its township, else its county (the point's `level`
says which was used, so that a message can say so). Reads only; coordinates are written by
`services.import_coordinates` (a sheet, the command `load_coordinates`) or in the admin."""
from dataclasses import dataclass

from . import codes
from .models import Region

FALLBACK_LEVELS = (codes.VILLAGE, codes.TOWNSHIP, codes.COUNTY)


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    level: int          # codes.VILLAGE, TOWNSHIP or COUNTY: whose coordinates these are
    code: str
    name: str


def chain(village_code: str) -> list[str]:
    """The village, its township and its county, as 12-digit codes (nearest first)."""
    return [codes.full_code(village_code[:codes.PREFIX_LENGTH[level]]) for level in FALLBACK_LEVELS]


def points_for(village_codes) -> dict:
    """Village code → its Point (village, else township, else county), or None when none of the three
    has coordinates. One query for any number of villages."""
    valid = {v for v in set(village_codes) if _valid(v)}
    known = {r.code: r for r in Region.all_objects.filter(code__in={c for v in valid for c in chain(v)},
                                                          latitude__isnull=False, longitude__isnull=False)
             .only("code", "name", "short_name", "level", "latitude", "longitude")}
    out = dict.fromkeys(village_codes)
    for village in valid:
        found = next((known[c] for c in chain(village) if c in known), None)
        if found is not None:
            out[village] = Point(float(found.latitude), float(found.longitude), found.level, found.code,
                                 found.short_name or found.name)
    return out


def point_of(village_code: str) -> Point | None:
    return points_for([village_code]).get(village_code)


def _valid(code: str) -> bool:
    return len(code) == 12 and code.isdigit()
