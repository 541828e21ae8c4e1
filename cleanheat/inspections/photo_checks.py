"""Where and when a photo was taken, checked against the village and the visit (warnings, not refusals:
a photo is kept with them on its evidence record, shown beside it and to the inspector who sent it).

The photo's EXIF position is measured (`distance.haversine_km`) from the village's coordinates, else
its township's, else its county's (regions.locations), with the threshold of data/photo_checks.json
for the level used; the message says which was used. A village with none of the three is said once
per visit or record. The time threshold comes from the same file."""
import json
from pathlib import Path

from cleanheat.regions import codes, locations

from .distance import haversine_km

RULES = Path(__file__).resolve().parent / "data" / "photo_checks.json"
LEVEL_KEYS = {codes.VILLAGE: "village", codes.TOWNSHIP: "township", codes.COUNTY: "county"}
LEVEL_WORDS = {codes.TOWNSHIP: "所属乡镇", codes.COUNTY: "所属县（市、区）"}
NO_COORDINATES = "该村及所属乡镇、县均未登记坐标，无法核对照片的拍摄位置（请在“村庄坐标”中补充）"


def thresholds() -> dict:
    return json.loads(RULES.read_text(encoding="utf-8"))


def _km(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def place_warning(label: str, latitude, longitude, point, limits: dict) -> str | None:
    """The warning for one photo taken at (latitude, longitude), measured from `point` (None: no
    coordinates known); None when it lies within the threshold or has no position."""
    if latitude is None or longitude is None or point is None:
        return None
    km = haversine_km(latitude, longitude, point.latitude, point.longitude)
    if km <= limits[LEVEL_KEYS[point.level]]:
        return None
    if point.level == codes.VILLAGE:
        return f"{label}拍摄位置距该村约 {_km(km)} 公里，请核实是否在现场拍摄"
    return (f"{label}拍摄位置距{point.name}约 {_km(km)} 公里（该村未登记坐标，按{LEVEL_WORDS[point.level]}"
            f"{point.name}的坐标核对），请核实是否在现场拍摄")


def check_places(checked: list, village_code: str) -> None:
    """Adds place warnings to each `files.Checked` (its `warnings`), measured from the village."""
    with_position = [c for c in checked if c.latitude is not None and c.longitude is not None]
    if not with_position:
        return
    point = locations.point_of(village_code)
    if point is None:
        with_position[0].warnings.append(NO_COORDINATES)  # once, not on every photo
        return
    limits = thresholds()["distance_km"]
    for c in with_position:
        if (warning := place_warning(c.label, c.latitude, c.longitude, point, limits)) is not None:
            c.warnings.append(warning)


def time_warning(taken, visited) -> str | None:
    """The warning for a photo taken `taken` (aware) on a visit at `visited`; None when close enough."""
    hours = thresholds()["time_hours"]
    if taken is None or visited is None or abs((taken - visited).total_seconds()) <= hours * 3600:
        return None
    return f"照片拍摄时间与检查时间相差超过{hours}小时"
