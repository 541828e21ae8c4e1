"""JSON API of inspections, mounted on the main API: the checklists, acceptance records (read in
scope; record one with its photos as multipart — a passed record moves the household to 已验收)."""
import json
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Router, Schema, Status

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household
from cleanheat.regions.scope import in_scope

from . import findings, queries, services
from .field_views import open_samples
from .models import Checklist, EvidenceFile, Visit

router = Router(tags=["验收与督导检查 inspections"])


class ItemOut(Schema):
    code: str
    text: str
    item_type: str
    required: bool
    unit: str


class ChecklistOut(Schema):
    id: int
    heating_path: str
    kind: str
    version: int
    title: str
    items: list[ItemOut]


class AcceptanceOut(Schema):
    number: str
    household_no: str
    passed: bool
    accepted_on: date
    inspector_name: str
    representative_name: str
    signed_on_paper: bool
    answers: dict
    failed_items: list


def _out(record) -> dict:
    return {"number": record.number, "household_no": record.household.household_no, "passed": record.passed,
            "accepted_on": record.accepted_on, "inspector_name": record.inspector_name,
            "representative_name": record.representative_name, "signed_on_paper": record.signed_on_paper,
            "answers": record.answers, "failed_items": record.failed_items}


@router.get("/checklists", response=list[ChecklistOut])
@requires(roles.VIEW)
def checklists(request):
    """The latest version of each checklist (heating path × inspection kind)."""
    latest = {}
    for c in Checklist.objects.order_by("heating_path", "kind", "-version").prefetch_related("items"):
        latest.setdefault((c.heating_path, c.kind), c)
    return [{"id": c.pk, "heating_path": c.heating_path, "kind": c.kind, "version": c.version, "title": c.title,
             "items": list(c.items.all())} for c in latest.values()]


@router.get("/acceptance/{number}", response=AcceptanceOut)
@requires(roles.VIEW)
def acceptance(request, number: str):
    return _out(queries.acceptance_record(request.user, number))


@router.post("/households/{household_no}/acceptance", response={201: AcceptanceOut})
@requires(roles.INSPECT)
def record_acceptance(request, household_no: str):
    """multipart: answers (JSON object: item code → value), inspector_name, representative_name,
    accepted_on (YYYY-MM-DD), signed_on_paper (true/false), note; files photo_<item code> (one or more)
    and signature (the signature image, or the scan of the paper signed). Refusals answer 422 listing
    every problem; nothing is kept of a refused request."""
    household = scoped_household(request.user, household_no)
    post = request.POST
    try:
        answers = json.loads(post.get("answers") or "{}")
    except ValueError:
        raise ValidationError({"answers": ["answers 应为 JSON 对象（检查项代码 → 结果）"]}) from None
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["answers 应为 JSON 对象（检查项代码 → 结果）"]})
    try:
        day = date.fromisoformat(post["accepted_on"]) if post.get("accepted_on") else None
    except ValueError:
        raise ValidationError({"accepted_on": ["验收日期应写作 2022-10-20"]}) from None
    data = services.AcceptanceInput(
        answers={str(k): "" if v is None else str(v) if not isinstance(v, bool) else ("是" if v else "否")
                 for k, v in answers.items()},
        photos={k.removeprefix("photo_"): request.FILES.getlist(k) for k in request.FILES if k.startswith("photo_")},
        inspector_name=post.get("inspector_name", ""), representative_name=post.get("representative_name", ""),
        accepted_on=day, signature=request.FILES.get("signature"),
        signed_on_paper=post.get("signed_on_paper", "").lower() in ("true", "1", "on", "是"), note=post.get("note", ""))
    record = services.record_acceptance(household, data, user=request.user, channel=Channel.API)
    return Status(201, _out(record))


class VisitOut(Schema):
    client_id: str
    household_no: str
    created: bool
    failed_items: list
    findings: int
    warnings: list[str]   # about its photos: taken far from the village or long before the visit, no EXIF


@router.post("/visits", response={200: VisitOut, 201: VisitOut})
@requires(roles.INSPECT)
def record_visit(request):
    """multipart: client_id (made on the phone, at most 64 letters, digits, - or _), sample_id, answers
    (JSON object: item code → value), visited_at (ISO time); files photo_<item code>. The same
    client_id sent again (after a reconnect) answers 200 with the visit first received; nothing is
    written twice. Failed items become findings."""
    post = request.POST
    sample = open_samples(request.user).select_related("household", "round") \
        .filter(pk=post.get("sample_id") if str(post.get("sample_id", "")).isdigit() else None).first()
    done = Visit.objects.filter(client_id=str(post.get("client_id", ""))[:64]).select_related(
        "sample__household").first()
    if done is not None and in_scope(request.user, done.region_code):
        return Status(200, _visit_out(done, False))
    if sample is None:
        raise ValidationError({"sample_id": ["未找到该抽查户（不在您的管辖范围内，或已有检查记录）"]})
    try:
        answers = json.loads(post.get("answers") or "{}")
    except ValueError:
        answers = None
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["answers 应为 JSON 对象（检查项代码 → 结果）"]})
    try:
        at = datetime.fromisoformat(post["visited_at"]) if post.get("visited_at") else None
    except ValueError:
        raise ValidationError({"visited_at": ["检查时间格式不正确"]}) from None
    if at is not None and timezone.is_naive(at):
        at = timezone.make_aware(at)
    received = findings.record_visit(
        sample, client_id=post.get("client_id"),
        answers={str(k): "" if v is None else str(v) for k, v in answers.items()},
        photos={k.removeprefix("photo_"): request.FILES.getlist(k) for k in request.FILES if k.startswith("photo_")},
        visited_at=at, user=request.user)
    return Status(201 if received.created else 200, _visit_out(received.visit, received.created))


def _visit_out(visit, created) -> dict:
    return {"client_id": visit.client_id, "household_no": visit.sample.household.household_no, "created": created,
            "failed_items": visit.failed_items, "findings": visit.findings.count(),
            "warnings": _warnings_of(visit.answers)}


def _warnings_of(answers: dict) -> list:
    ids = [pk for value in answers.values() if isinstance(value, list) for pk in value if isinstance(pk, int)]
    return [w for ws in EvidenceFile.objects.filter(pk__in=ids).order_by("pk").values_list("warnings", flat=True)
            for w in ws]
