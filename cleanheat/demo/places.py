"""Synthetic coordinates for the demo: each county at its (approximate) seat, each village at a point
within `scatter_km` of it drawn from the village's code (the same every load), each township at the
mean of its villages. Written through the one door for coordinates, regions.services.import_coordinates."""
import hashlib
import json
from collections import defaultdict
from math import cos, pi, radians, sin, sqrt
from pathlib import Path

from cleanheat.regions import codes
from cleanheat.regions import services as regions
from cleanheat.regions.models import Region

SEATS = Path(__file__).resolve().parent / "data" / "xinzhou-county-seats.json"
KM_PER_DEGREE = 111.32  # along a meridian; along a parallel times cos(latitude)


def _offset(code: str, radius_km: float) -> tuple[float, float]:
    """(north km, east km), uniform over the disc, from the code's hash."""
    digest = hashlib.sha256(code.encode()).digest()
    u, v = int.from_bytes(digest[:4]) / 2**32, int.from_bytes(digest[4:8]) / 2**32
    r, angle = radius_km * sqrt(u), 2 * pi * v
    return r * cos(angle), r * sin(angle)


def demo_points(path: Path = SEATS) -> dict:
    """Code → (latitude, longitude) for the counties, townships and villages of the demo's city."""
    data = json.loads(path.read_text(encoding="utf-8"))
    seats, radius = data["seats"], data["scatter_km"]
    points = {code: (s["latitude"], s["longitude"]) for code, s in seats.items()}
    townships = defaultdict(list)
    for code in Region.objects.filter(level=codes.VILLAGE, code__startswith=next(iter(seats))[:4]) \
            .values_list("code", flat=True):
        seat = seats.get(codes.full_code(code[:6]))
        if seat is None:
            continue
        north, east = _offset(code, radius)
        lat = seat["latitude"] + north / KM_PER_DEGREE
        points[code] = (lat, seat["longitude"] + east / (KM_PER_DEGREE * cos(radians(lat))))
        townships[codes.full_code(code[:9])].append(points[code])
    for code, members in townships.items():
        points[code] = (sum(p[0] for p in members) / len(members), sum(p[1] for p in members) / len(members))
    return points


def load_demo_coordinates() -> int:
    rows = [regions.CoordinateRow(n, code, f"{lon:.6f}", f"{lat:.6f}")
            for n, (code, (lat, lon)) in enumerate(sorted(demo_points().items()), start=2)]
    return regions.import_coordinates(rows)
