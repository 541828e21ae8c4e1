"""Inspection rounds and their samples: the rule from data/sampling.json, a stored seed, the draw
(`sampling.draw`), and a re-draw only with a reason (every draw kept in SampleDraw)."""
import json
import secrets
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from cleanheat import bulk as db
from cleanheat import inputs
from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.models import Household
from cleanheat.regions.scope import code_q, in_scope

from . import sampling
from .models import InspectionKind, InspectionRound, SampledHousehold, SampleDraw

RULES = Path(__file__).resolve().parent / "data" / "sampling.json"
DONE = lifecycle.STEPS[lifecycle.index(LifecycleState.INSTALLED):]   # works finished: what is inspected


def read_rules(path: Path = RULES) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def rule_of(round_: InspectionRound) -> sampling.Rule:
    return sampling.Rule(level=round_.level, share=float(round_.share), minimum=round_.minimum)


def area_prefix(region_code: str) -> str:
    """A 12-digit region code as the prefix of its villages (140902000000 → 140902)."""
    return next(region_code[:n] for n in (4, 6, 9, 12) if not region_code[n:].strip("0"))


def eligible(region_code: str, year: int) -> list[tuple]:
    """(id, village, path) of the households of the area whose works are finished, in the year's plan."""
    return list(Household.objects.filter(code_q("village_id", area_prefix(region_code)), archived=False,
                                         plan_year=year, state__in=DONE)
                .values_list("id", "village_id", "heating_path").iterator(chunk_size=20000))


@transaction.atomic
def create_round(*, kind: str, region_code: str, year: int, name: str, user=None, exclude_previous=False,
                 seed: int | None = None, rules: dict | None = None) -> InspectionRound:
    if kind not in (InspectionKind.SELF, InspectionKind.CITY, InspectionKind.JOINT):
        raise ValidationError({"kind": ["抽查只用于县级自查、市级考核和联合督导检查"]})
    if user is not None and not in_scope(user, region_code):
        raise ValidationError({"region_code": ["该地区不在您的管辖范围内"]})
    name = inputs.text(name, "名称", max_length=100)
    if not name:
        raise ValidationError({"name": ["请填写名称"]})
    spec = (rules or read_rules())[kind]
    previous = InspectionRound.objects.filter(kind=kind, region_code=region_code).order_by("-created_at").first()
    round_ = InspectionRound.objects.create(
        kind=kind, name=name, region_code=region_code, year=year, level=spec["level"],
        share=Decimal(str(spec["share"])), minimum=spec["minimum"], exclude_previous=exclude_previous,
        previous=previous if exclude_previous else None, seed=seed if seed is not None else _seed(), created_by=user)
    _draw(round_, user=user, reason="")
    return round_


def _seed() -> int:
    return secrets.randbits(62)


def _draw(round_: InspectionRound, *, user, reason: str) -> int:
    exclude = frozenset(round_.previous.samples.values_list("household_id", flat=True)) \
        if round_.exclude_previous and round_.previous else frozenset()
    rows = eligible(round_.region_code, round_.year)
    sample = sampling.draw(rows, rule_of(round_), round_.seed, exclude)
    chosen = {pk for pk, _, _ in sample}
    villages = {pk: village for pk, village, _ in rows if pk in chosen}
    db.insert_rows(SampledHousehold, ["round_id", "household_id", "region_code", "unit_code", "heating_path"],
                   [(round_.pk, pk, villages[pk], unit.ljust(12, "0"), path) for pk, unit, path in sample])
    SampleDraw.objects.create(round=round_, seed=round_.seed, size=len(sample), reason=reason, drawn_by=user)
    return len(sample)


@transaction.atomic
def redraw(round_: InspectionRound, *, reason: str, user=None, seed: int | None = None) -> int:
    """A new draw with a new seed, only with a reason and before any visit was recorded."""
    round_ = InspectionRound.objects.select_for_update().get(pk=round_.pk)
    reason = inputs.text(reason, "重新抽取的原因", max_length=200)
    if not reason:
        raise ValidationError({"reason": ["重新抽取须填写原因"]})
    if round_.samples.filter(visits__isnull=False).exists():
        raise ValidationError({"__all__": ["已有现场检查记录，不能重新抽取"]})
    round_.samples.all().delete()
    round_.seed = seed if seed is not None else _seed()
    round_.save(update_fields=["seed"])
    return _draw(round_, user=user, reason=reason)
