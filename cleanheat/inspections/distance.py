"""Distances on the ground between two points given in degrees (WGS-84, as phones and EXIF record them).
No Django.

Method: the haversine formula for the great-circle distance on a sphere of the mean Earth radius
(IUGG mean radius R1 = 6,371.0088 km; Moritz, "Geodetic Reference System 1980", Bulletin Géodésique
54, 1980). On the ellipsoid the error is at most about 0.5 %, far below what the warnings need
(kilometres between a photo and a village).
"""
from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between (lat1, lon1) and (lat2, lon2), degrees."""
    phi1, phi2 = radians(lat1), radians(lat2)
    d_phi, d_lambda = phi2 - phi1, radians(lon2 - lon1)
    h = sin(d_phi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


def nearest_first(items, here, point_of) -> list:
    """[(item, km or None)] ordered by distance from `here` (lat, lon); items with no point (point_of
    gives None) follow in their given order. Without `here`, the given order with no distances."""
    if here is None:
        return [(item, None) for item in items]
    measured, unknown = [], []
    for n, item in enumerate(items):
        point = point_of(item)
        if point is None:
            unknown.append((item, None))
        else:
            measured.append((haversine_km(here[0], here[1], point[0], point[1]), n, item))
    measured.sort(key=lambda m: (m[0], m[1]))
    return [(item, km) for km, _, item in measured] + unknown
