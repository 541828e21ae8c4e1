"""Loads the city's checklists (data/checklists.json): a (path, kind) whose items differ from its
latest version gets a new version; an unchanged one is left as it is (loading twice changes nothing)."""
import json
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from .models import Checklist, ChecklistItem, InspectionKind

DATA = Path(__file__).resolve().parent / "data" / "checklists.json"
ITEM_FIELDS = {"code": "code", "text": "text", "type": "item_type", "required": "required", "expected": "expected",
               "min": "minimum", "max": "maximum", "valid_min": "valid_min", "valid_max": "valid_max", "unit": "unit",
               "severity": "severity"}
DEFAULTS = {"required": True, "expected": True, "min": None, "max": None, "valid_min": None, "valid_max": None,
            "unit": "", "severity": "normal"}


def read_checklists(path: Path = DATA) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


LIMITS = ("min", "max", "valid_min", "valid_max")


def _value(key, value):
    """A value as compared between the file and the stored items (limits as normalised decimals)."""
    return str(Decimal(str(value)).normalize()) if key in LIMITS and value is not None else value


def _normal(item: dict) -> tuple:
    full = {**DEFAULTS, **item}
    return tuple((k, _value(k, full[k])) for k in ITEM_FIELDS)


def _stored(checklist: Checklist) -> list:
    return [tuple((k, _value(k, spec[k])) for k in ITEM_FIELDS) for spec in (i.spec() for i in checklist.items.all())]


@transaction.atomic
def load_checklists(spec: dict | None = None, user=None) -> int:
    """Returns how many new versions were written."""
    spec = spec or read_checklists()
    written = 0
    latest = {(c.heating_path, c.kind): c for c in Checklist.objects.order_by("version").prefetch_related("items")}
    for entry in spec["checklists"]:
        for path in entry["paths"]:
            for kind in entry["kinds"]:
                InspectionKind(kind)  # a kind the system knows
                items = [_normal(i) for i in entry["items"]]
                current = latest.get((path, kind))
                if current is not None and _stored(current) == items:
                    continue
                checklist = Checklist.objects.create(
                    heating_path=path, kind=kind, title=f"{entry['title']}（{InspectionKind(kind).label}）",
                    version=(current.version + 1) if current else 1, created_by=user)
                ChecklistItem.objects.bulk_create([
                    ChecklistItem(checklist=checklist, order=n, **{ITEM_FIELDS[k]: v for k, v in item})
                    for n, item in enumerate(items)])
                written += 1
    return written


def current_checklist(path: str, kind: str) -> Checklist | None:
    return Checklist.objects.filter(heating_path=path, kind=kind).order_by("-version").first()
