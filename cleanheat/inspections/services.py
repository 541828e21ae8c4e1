"""Writes of inspections: acceptance records with their evidence (and, when passed, the move to
已验收 through the ledger's one door `ledger.services.transition`), and the bulk path for a seed.

Checks come first (`check_acceptance`), then the write in one transaction; files stored for a write
that does not land are removed again (nothing half-saved)."""
import json
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from cleanheat import bulk as db
from cleanheat import inputs
from cleanheat.ledger import services as ledger
from cleanheat.ledger.choices import Channel, LifecycleState
from cleanheat.ledger.labels import state_label
from cleanheat.ledger.models import Household
from cleanheat.regions.scope import in_scope

from . import checklists, files, photo_checks
from .loader import current_checklist
from .models import AcceptanceRecord, InspectionKind

NAME_LENGTH = 40


@dataclass
class AcceptanceInput:
    """What an inspector gives: answers (item code → text), photos (item code → uploaded files),
    the two people, the signature image or a scan of the paper signature, the day."""
    answers: dict
    inspector_name: str
    representative_name: str
    accepted_on: date | None = None
    photos: dict = field(default_factory=dict)
    signature: object = None          # an uploaded image: the signature, or the scan of the signed paper
    signed_on_paper: bool = False
    note: str = ""


def _refuse(errors: dict):
    raise ValidationError({k: v if isinstance(v, list) else [v] for k, v in errors.items()})


def check_acceptance(household: Household, data: AcceptanceInput, *, user) -> tuple:
    """(checklist, judgement, checked files {code: [Checked]}, checked signature) or ValidationError
    listing every problem at once."""
    errors = {}
    if user is not None and not in_scope(user, household.village_id):
        _refuse({"__all__": "该户不在您的管辖范围内"})
    if household.archived:
        _refuse({"__all__": "该户已归档，不能验收"})
    if household.state != LifecycleState.INSTALLED:
        _refuse({"__all__": f"该户当前为“{state_label(household.state)}”，须为“已完工”才能验收"})
    checklist = current_checklist(household.heating_path, InspectionKind.ACCEPTANCE)
    if checklist is None:
        _refuse({"__all__": "本取暖路径尚无验收检查清单，请市级先加载检查清单"})
    items = [i.spec() for i in checklist.items.all()]
    photo_items = {i["code"] for i in items if i["type"] == "photo"}
    checked_photos = {}
    for code, uploads in (data.photos or {}).items():
        if code not in photo_items:
            errors.setdefault(code, []).append(f"检查项“{code}”不需要照片")
            continue
        label = next(i["text"] for i in items if i["code"] == code)
        for n, uploaded in enumerate(uploads, 1):
            try:
                checked_photos.setdefault(code, []).append((uploaded, files.check_image(uploaded, f"“{label}”第{n}张照片")))
            except ValueError as exc:
                errors.setdefault(code, []).append(str(exc))
    judgement = checklists.judge(items, data.answers or {}, {c: len(v) for c, v in (data.photos or {}).items()})
    for code, message in judgement.refusals:
        errors.setdefault(code, []).append(message)
    for name, label in (("inspector_name", "验收人"), ("representative_name", "户方代表")):
        try:
            if not inputs.text(getattr(data, name), label, max_length=NAME_LENGTH):
                raise ValueError(f"请填写{label}姓名")
        except ValueError as exc:
            errors[name] = [str(exc)]
    signature = None
    what = "纸质签字扫描件" if data.signed_on_paper else "户方代表签字图片"
    if data.signature is None:
        errors["signature"] = [f"请上传{what}"]
    else:
        try:
            signature = files.check_image(data.signature, what)
        except ValueError as exc:
            errors["signature"] = [str(exc)]
    on = data.accepted_on or timezone.localdate()
    if on > timezone.localdate():
        errors["accepted_on"] = ["验收日期不能晚于今天"]
    try:
        note = inputs.text(data.note, "备注", max_length=200)
    except ValueError as exc:
        errors["note"] = [str(exc)]
        note = ""
    if errors:
        _refuse(errors)
    photo_checks.check_places([c for pairs in checked_photos.values() for _, c in pairs], household.village_id)
    return checklist, judgement, checked_photos, signature, on, note


def next_number(household: Household) -> str:
    return f"YS{household.household_no}{household.acceptance_records.count() + 1:02d}"  # fixed width, no separator


def record_acceptance(household: Household, data: AcceptanceInput, *, user=None,
                      channel=Channel.UI) -> AcceptanceRecord:
    """Checks, then stores the record with its files; a passed record moves the household to 已验收
    (same transaction). A failed record is kept (its failed items are the findings), the household
    stays at 已完工."""
    stored = []
    try:
        with transaction.atomic():
            household = Household.objects.select_for_update().get(pk=household.pk)
            checklist, judgement, photos, signature, on, note = check_acceptance(household, data, user=user)
            number = next_number(household)
            answers = dict(judgement.values)
            for code, pairs in photos.items():
                ids = []
                for n, (uploaded, checked) in enumerate(pairs, 1):
                    row = files.store(checked, region_code=household.village_id, name=f"{number}-{code}-{n}",
                                      original_name=getattr(uploaded, "name", "") or "", user=user)
                    stored += [row.stored_name, row.display_name]
                    ids.append(row.pk)
                answers[code] = ids
            sign = files.store(signature, region_code=household.village_id, name=f"{number}-signature",
                               original_name=getattr(data.signature, "name", "") or "", user=user)
            stored += [sign.stored_name, sign.display_name]
            record = AcceptanceRecord.objects.create(
                number=number, household=household, region_code=household.village_id, checklist=checklist,
                answers=answers, failed_items=[m for _, m in judgement.failed], passed=judgement.passed,
                accepted_on=on, inspector_name=data.inspector_name.strip(),
                representative_name=data.representative_name.strip(), signed_on_paper=data.signed_on_paper,
                signature=sign, note=note, channel=channel, created_by=user)
            if record.passed:
                ledger.transition(household, LifecycleState.ACCEPTED, user=user, channel=channel,
                                  reason=f"验收记录 {number}", occurred_on=on)
            return record
    except BaseException:
        files.remove(stored)
        raise


def accepted_in_bulk(rows, *, checklists_by_path: dict, photo_ids: dict, now=None) -> int:
    """Passed acceptance records for households already at 已验收 or later (a seed such as the demo):
    rows are (household pk, household number, village code, path, accepted day). photo_ids: county →
    placeholder evidence file ids reused (the first for every photo item, the last as the scan of the
    paper signature). Written as plain rows (JSON and dates in database form, each made once)."""
    now = now or timezone.now()
    meta = AcceptanceRecord._meta
    prep = connection.vendor != "postgresql"  # psycopg adapts dates itself

    def as_db(name, value):
        return meta.get_field(name).get_db_prep_save(value, connection) if prep else value

    created, days, answers_of = as_db("created_at", now), {}, {}
    attnames = ["number", "household_id", "region_code", "checklist_id", "answers", "failed_items", "passed",
                "accepted_on", "inspector_name", "representative_name", "signed_on_paper", "signature_id", "note",
                "channel", "created_by_id", "created_at"]

    def answers(path, county):
        if (path, county) not in answers_of:
            ids = photo_ids[county]
            answers_of[path, county] = json.dumps(
                {i.code: (i.expected if i.item_type == "yes_no" else "20" if i.item_type == "number"
                          else [ids[0]] if i.item_type == "photo" else "")
                 for i in checklists_by_path[path].items.all()}, ensure_ascii=False)
        return answers_of[path, county]

    def out():
        for pk, number, village, path, day in rows:
            if day not in days:
                days[day] = as_db("accepted_on", day)
            yield (f"YS{number}01", pk, village, checklists_by_path[path].pk, answers(path, village[:6]), "[]", True,
                   days[day], "演示验收员", "户主（演示）", True, photo_ids[village[:6]][-1], "演示数据",
                   Channel.SYSTEM.value, None, created)

    written = list(out())
    db.insert_rows(AcceptanceRecord, attnames, written)
    return len(written)
