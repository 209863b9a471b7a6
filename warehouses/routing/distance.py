"""Great-circle distance between two coordinates."""

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(
    latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float
) -> float:
    """Distance in kilometres along the earth's surface (haversine)."""
    phi_a, phi_b = radians(latitude_a), radians(latitude_b)
    delta_phi = phi_b - phi_a
    delta_lambda = radians(longitude_b - longitude_a)
    term = sin(delta_phi / 2) ** 2 + cos(phi_a) * cos(phi_b) * sin(delta_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(term)))
