"""Short names of villages and communities, as sheets and people write them (no Django).

The package names villages as committees: 奇村村委会, 东大街社区居民委员会; clerks write 奇村 and
东大街社区. The suffix rules are data (data/short_names.json).
"""
import json
from functools import cache
from pathlib import Path

RULES_FILE = Path(__file__).resolve().parent / "data" / "short_names.json"


@cache
def _rules() -> tuple:
    spec = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    return tuple((rule["suffix"], rule["short"]) for rule in spec["rules"])


def short_name(name: str) -> str:
    """奇村村委会 → 奇村, 辛庄村委会 → 辛庄村, 东大街社区居民委员会 → 东大街社区; others unchanged."""
    for suffix, short in _rules():
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            return stem if stem.endswith(short) else stem + short
    return name
