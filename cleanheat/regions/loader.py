"""Load divisions from rows of (code, name, kind): any city, any level, idempotent."""
import csv
from pathlib import Path

from django.db import transaction

from . import codes
from .models import Region


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@transaction.atomic
def load_regions(rows) -> int:
    """Insert or update regions; parents are derived from the code, so rows may come in any
    order as long as each parent is in the database or in the same batch. Returns rows written."""
    rows = sorted(rows, key=lambda r: codes.level_of(r["code"]))
    existing = {r.code: r for r in Region.objects.filter(code__in=[r["code"] for r in rows])}
    new, changed = [], []
    for row in rows:
        code = row["code"].strip()
        level = codes.level_of(code)
        parent = None
        if level > codes.CITY:
            parent = codes.full_code(code[: codes.PREFIX_LENGTH[level - 1]])
        kind = row.get("kind") or (codes.township_kind(code) if level == codes.TOWNSHIP else "")
        region = existing.get(code)
        if region is None:
            new.append(Region(code=code, name=row["name"].strip(), level=level, parent_id=parent, kind=kind))
        elif (region.name, region.kind) != (row["name"].strip(), kind):
            region.name, region.kind = row["name"].strip(), kind
            changed.append(region)
    for level in sorted({r.level for r in new}):  # parents before children
        Region.objects.bulk_create([r for r in new if r.level == level], batch_size=2000)
    Region.objects.bulk_update(changed, ["name", "kind"], batch_size=2000)
    return len(new) + len(changed)
