"""Field visits and their findings (问题), rectification (整改) and the overdue list and notice
(《实施方案》七(三)：联合督导，发现问题限期整改、及时通报).

A visit is accepted once per client-generated id: sent again after a reconnect, the first one is
answered and nothing is written twice. Each failed item of the visit becomes a finding with the
item's severity, the household's county as the responsible unit and a deadline from data/findings.json.
"""
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from cleanheat import inputs
from cleanheat.access import scope_filter
from cleanheat.regions.scope import in_scope

from . import checklists, files, photo_checks
from .loader import current_checklist
from .models import Finding, FindingStatus, FindingStep, SampledHousehold, Visit

RULES = Path(__file__).resolve().parent / "data" / "findings.json"
CLIENT_ID_LENGTH = 64


def deadline_days() -> dict:
    return json.loads(RULES.read_text(encoding="utf-8"))["deadline_days"]


@dataclass
class Received:
    visit: Visit
    created: bool


def _client_id(value) -> str:
    text = str(value or "").strip()
    if not text or len(text) > CLIENT_ID_LENGTH or not all(c.isalnum() or c in "-_" for c in text):
        raise ValidationError({"client_id": ["检查记录缺少有效的编号（client_id：字母、数字、- 或 _，最多64位）"]})
    return text


def record_visit(sample: SampledHousehold, *, client_id, answers: dict, photos: dict | None = None,
                 visited_at: datetime | None = None, user=None) -> Received:
    """The visit, or the one already received under this client id (created False)."""
    client_id = _client_id(client_id)
    if (done := Visit.objects.filter(client_id=client_id).first()) is not None:
        if done.sample_id != sample.pk:
            raise ValidationError({"client_id": ["该检查记录编号已用于另一户"]})
        return Received(done, False)
    if user is not None and not in_scope(user, sample.region_code):
        raise ValidationError({"__all__": ["该户不在您的管辖范围内"]})
    household = sample.household
    checklist = current_checklist(household.heating_path, sample.round.kind)
    if checklist is None:
        raise ValidationError({"__all__": ["本取暖路径尚无该类检查清单"]})
    items = {i.code: i for i in checklist.items.all()}
    photos = photos or {}
    checked, errors = {}, {}
    for code, uploads in photos.items():
        label = items[code].text if code in items else code
        for n, uploaded in enumerate(uploads, 1):
            try:
                checked.setdefault(code, []).append((uploaded, files.check_image(uploaded, f"“{label}”第{n}张照片")))
            except ValueError as exc:
                errors.setdefault(code, []).append(str(exc))
    judgement = checklists.judge([i.spec() for i in items.values()], answers or {},
                                 {c: len(v) for c, v in photos.items()})
    for code, message in judgement.refusals:
        errors.setdefault(code, []).append(message)
    now = timezone.now()
    visited_at = visited_at or now
    if visited_at > now + timedelta(minutes=10):
        errors["visited_at"] = ["检查时间不能晚于现在"]
    if errors:
        raise ValidationError(errors)
    photo_checks.check_places([c for pairs in checked.values() for _, c in pairs], sample.region_code)
    stored = []
    try:
        with transaction.atomic():
            values = dict(judgement.values)
            for code, pairs in checked.items():
                ids = []
                for n, (uploaded, c) in enumerate(pairs, 1):
                    row = files.store(c, region_code=sample.region_code, name=f"visit-{client_id}-{code}-{n}",
                                      original_name=getattr(uploaded, "name", "") or "", user=user)
                    stored += [row.stored_name, row.display_name]
                    ids.append(row.pk)
                    if (late := photo_checks.time_warning(files.aware(c.taken_at), visited_at)) is not None:
                        row.warnings = [*row.warnings, late]
                        row.save(update_fields=["warnings"])
                values[code] = ids
            visit = Visit.objects.create(client_id=client_id, sample=sample, region_code=sample.region_code,
                                         checklist=checklist, answers=values,
                                         failed_items=[m for _, m in judgement.failed], visited_at=visited_at,
                                         inspector=user)
            days = deadline_days()
            Finding.objects.bulk_create([Finding(
                visit=visit, round=sample.round, household=household, region_code=sample.region_code, item_code=code,
                description=message[:200], severity=items[code].severity, responsible_unit=sample.region_code[:6],
                deadline=timezone.localdate(visited_at) + timedelta(days=days.get(items[code].severity, 15)))
                for code, message in judgement.failed])
            return Received(visit, True)
    except IntegrityError:  # the same visit arrived twice at once: the other one was kept
        files.remove(stored)
        return Received(Visit.objects.get(client_id=client_id), False)
    except BaseException:
        files.remove(stored)
        raise


def findings_for(user):
    return scope_filter(Finding.objects.all(), user, "region_code")


def _note(value, label) -> str:
    try:
        text = inputs.text(value, label, max_length=200)
    except ValueError as exc:
        raise ValidationError({"note": [str(exc)]}) from None
    if not text:
        raise ValidationError({"note": [f"请填写{label}"]})
    return text


@transaction.atomic
def rectify(finding: Finding, *, note: str, evidence=(), user=None) -> Finding:
    """The responsible county records what was done, with photos (at least one)."""
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if user is not None and not in_scope(user, finding.responsible_unit.ljust(12, "0")):
        raise ValidationError({"__all__": ["只有责任单位可以填报整改"]})
    if finding.status != FindingStatus.OPEN:
        raise ValidationError({"__all__": [f"该问题现为“{finding.get_status_display()}”，不能再填报整改"]})
    note = _note(note, "整改情况")
    checked = []
    for n, uploaded in enumerate(evidence, 1):
        try:
            checked.append((uploaded, files.check_image(uploaded, f"整改照片第{n}张")))
        except ValueError as exc:
            raise ValidationError({"evidence": [str(exc)]}) from None
    if not checked:
        raise ValidationError({"evidence": ["请上传整改后的照片"]})
    stored, ids = [], []
    try:
        for n, (uploaded, c) in enumerate(checked, 1):
            row = files.store(c, region_code=finding.region_code, name=f"finding-{finding.pk}-{n}",
                              original_name=getattr(uploaded, "name", "") or "", user=user)
            stored += [row.stored_name, row.display_name]
            ids.append(row.pk)
        FindingStep.objects.create(finding=finding, action="rectify", note=note, evidence=ids, user=user)
        finding.status = FindingStatus.RECTIFIED
        finding.save(update_fields=["status"])
    except BaseException:
        files.remove(stored)
        raise
    return finding


@transaction.atomic
def close(finding: Finding, *, note: str = "复核合格", user=None) -> Finding:
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.status != FindingStatus.RECTIFIED:
        raise ValidationError({"__all__": ["只有已整改的问题才能销号"]})
    FindingStep.objects.create(finding=finding, action="close", note=_note(note, "复核意见"), user=user)
    finding.status, finding.closed_on = FindingStatus.CLOSED, timezone.localdate()
    finding.save(update_fields=["status", "closed_on"])
    return finding


@transaction.atomic
def reopen(finding: Finding, *, note: str, user=None) -> Finding:
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if finding.status == FindingStatus.OPEN:
        raise ValidationError({"__all__": ["该问题尚未整改"]})
    FindingStep.objects.create(finding=finding, action="reopen", note=_note(note, "重新整改的原因"), user=user)
    finding.status, finding.closed_on = FindingStatus.OPEN, None
    finding.save(update_fields=["status", "closed_on"])
    return finding


def overdue(user, today: date | None = None, limit: int | None = None) -> list[dict]:
    """Open findings past their deadline, most overdue first, with the days overdue (the first
    `limit`, if given)."""
    today = today or timezone.localdate()
    rows = findings_for(user).filter(status=FindingStatus.OPEN, deadline__lt=today) \
        .order_by("deadline", "pk").values("pk", "region_code", "responsible_unit", "description", "severity",
                                           "deadline", "household__household_no")
    rows = rows[:limit] if limit else rows
    return [{**r, "days_overdue": (today - r["deadline"]).days} for r in rows]


def per_county(user, today: date | None = None) -> list[dict]:
    """Findings per responsible county: open, of which overdue, rectified awaiting review, closed
    (counted by the database)."""
    today = today or timezone.localdate()
    out = {}
    scoped = findings_for(user)
    for unit, status, n in scoped.values_list("responsible_unit", "status").annotate(n=Count("id")).order_by():
        out.setdefault(unit, {"county": unit, "open": 0, "overdue": 0, "rectified": 0, "closed": 0})[status] = n
    for unit, n in scoped.filter(status=FindingStatus.OPEN, deadline__lt=today).values_list("responsible_unit") \
            .annotate(n=Count("id")).order_by():
        out[unit]["overdue"] = n
    return [out[k] for k in sorted(out)]
