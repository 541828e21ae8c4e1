"""Loads the city's checklists (data/checklists.json) through the one door the editing page uses too
(`versions.save_version`): a (path, kind) whose items differ from its latest version gets a new
version; an unchanged one is left as it is (loading twice changes nothing). A bad item in the file
refuses the whole load, naming the checklist and the row."""
import json
from pathlib import Path

from django.db import transaction

from . import versions
from .models import InspectionKind

DATA = Path(__file__).resolve().parent / "data" / "checklists.json"


def read_checklists(path: Path = DATA) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@transaction.atomic
def load_checklists(spec: dict | None = None, user=None) -> int:
    """Returns how many new versions were written."""
    spec = spec or read_checklists()
    written = 0
    for entry in spec["checklists"]:
        for path in entry["paths"]:
            for kind in entry["kinds"]:
                title = f"{entry['title']}（{InspectionKind(kind).label}）" if kind in InspectionKind.values \
                    else entry["title"]
                saved = versions.save_version(path, kind, entry["items"], title=title, user=user,
                                              where=f"{entry['title']}（{path}，{kind}）")
                written += saved is not None
    return written


def current_checklist(path: str, kind: str):
    return versions.latest(path, kind)
