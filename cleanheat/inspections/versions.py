"""The one door for writing a checklist version: the data file's loader (`loader.load_checklists`) and
the city's editing page both come here. Items are checked first (`checklists.check_items`); a
(path, kind) whose items differ from its latest version gets a new version, an unchanged one is left
as it is. Records already filled keep the version they point at; new records take the latest."""
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from cleanheat.ledger.choices import HeatingPath

from . import checklists
from .models import Checklist, ChecklistItem, InspectionKind

ITEM_FIELDS = {"code": "code", "text": "text", "type": "item_type", "required": "required", "expected": "expected",
               "min": "minimum", "max": "maximum", "valid_min": "valid_min", "valid_max": "valid_max", "unit": "unit",
               "severity": "severity"}


def latest(path: str, kind: str) -> Checklist | None:
    return Checklist.objects.filter(heating_path=path, kind=kind).order_by("-version").first()


def specs(checklist: Checklist | None) -> list[dict]:
    """A version's items in the form the checks and the editing page read."""
    return [i.spec() for i in checklist.items.all()] if checklist else []


def _key(items: list[dict]) -> list[tuple]:
    return [tuple((k, checklists.plain(item[k]) if k in checklists.LIMITS and item[k] is not None else item[k])
                  for k in ITEM_FIELDS) for item in items]


def _refuse(problems: list[str], where: str = ""):
    raise ValidationError({"__all__": [f"{where}{p}" for p in problems]})


def check_target(path: str, kind: str):
    problems = []
    if path not in HeatingPath.values:
        problems.append(f"取暖路径“{path}”不存在")
    if kind not in InspectionKind.values:
        problems.append(f"检查类别“{kind}”不存在")
    if problems:
        _refuse(problems)


@transaction.atomic
def save_version(path: str, kind: str, items: list[dict], *, title: str = "", user=None,
                 based_on: int | None = None, where: str = "") -> Checklist | None:
    """The new version written, or None when the items equal the latest version's. `based_on`: the
    version the editor started from; a newer one saved meanwhile refuses the edit (nothing is
    overwritten unseen). `where` prefixes every message (the loader names the file's checklist)."""
    check_target(path, kind)
    normal, problems = checklists.check_items(items)
    if problems:
        _refuse(problems, where)
    current = Checklist.objects.select_for_update().filter(heating_path=path, kind=kind).order_by("-version").first()
    if based_on is not None and current is not None and current.version != based_on:
        _refuse([f"该清单已有更新的版本（第{current.version}版，{current.created_at:%Y-%m-%d %H:%M}），"
                 "请重新打开后再修改"], where)
    if current is not None and _key(specs(current)) == _key(normal):
        return None
    title = " ".join((title or (current.title if current else "")).split()) or \
        f"{HeatingPath(path).label}检查清单（{InspectionKind(kind).label}）"
    try:
        with transaction.atomic():
            checklist = Checklist.objects.create(heating_path=path, kind=kind, title=title[:100], created_by=user,
                                                 version=(current.version + 1) if current else 1)
    except IntegrityError:  # another save of the same version landed first
        _refuse(["该清单刚被他人保存了新版本，请重新打开后再修改"], where)
    ChecklistItem.objects.bulk_create([
        ChecklistItem(checklist=checklist, order=n, **{field: item[key] for key, field in ITEM_FIELDS.items()})
        for n, item in enumerate(normal)])
    return checklist


def history(path: str, kind: str) -> list[dict]:
    """Every version, newest first: who saved it, when, and what changed from the one before."""
    versions = list(Checklist.objects.filter(heating_path=path, kind=kind).order_by("version")
                    .select_related("created_by").prefetch_related("items"))
    rows, before = [], None
    for checklist in versions:
        items = specs(checklist)
        said = checklists.changes(before, items) if before is not None else [f"初始版本（{len(items)}项）"]
        rows.append({"checklist": checklist, "changes": said or ["内容未变"], "count": len(items)})
        before = items
    return rows[::-1]
