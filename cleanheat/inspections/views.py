"""Pages of acceptance (验收) with evidence, and the scoped view that serves evidence files."""
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.ledger.choices import Channel, LifecycleState
from cleanheat.ledger.queries import scoped_household

from . import files, queries, services
from .loader import current_checklist
from .models import EvidenceFile, InspectionKind


def _input(request) -> services.AcceptanceInput:
    post = request.POST
    answers = {k.removeprefix("item_"): v for k, v in post.items() if k.startswith("item_")}
    photos = {k.removeprefix("photo_"): request.FILES.getlist(k) for k in request.FILES if k.startswith("photo_")}
    return services.AcceptanceInput(
        answers=answers, photos=photos, inspector_name=post.get("inspector_name", ""),
        representative_name=post.get("representative_name", ""), accepted_on=_day(post.get("accepted_on")),
        signature=request.FILES.get("signature"), signed_on_paper=post.get("signed_on_paper") == "on",
        note=post.get("note", ""))


def _day(text):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ValidationError({"accepted_on": ["验收日期应写作 2022-10-20"]}) from None


@require_http_methods(["GET", "POST"])
@requires(roles.INSPECT)
def acceptance_form(request, household_no):
    household = scoped_household(request.user, household_no)
    checklist = current_checklist(household.heating_path, InspectionKind.ACCEPTANCE)
    errors, posted = {}, {}
    if request.method == "POST":
        posted = request.POST
        try:
            record = services.record_acceptance(household, _input(request), user=request.user, channel=Channel.UI)
        except ValidationError as error:
            errors = error.message_dict
        else:
            if record.passed:
                messages.success(request, f"验收记录 {record.number} 已保存，该户已标记为“已验收”")
            else:
                messages.warning(request, f"验收记录 {record.number} 已保存：有不合格项，该户仍为“已完工”")
            return redirect("acceptance_record", number=record.number)
    items = [{"item": i, "error": errors.get(i.code, []), "value": posted.get(f"item_{i.code}", "")}
             for i in checklist.items.all()] if checklist else []
    return render(request, "inspections/acceptance_form.html", {
        "household": household, "checklist": checklist, "items": items, "errors": errors, "posted": posted,
        "ready": household.state == LifecycleState.INSTALLED,
        "all_errors": [m for ms in errors.values() for m in ms], "max_mb": files.limit() // (1024 * 1024)},
        status=422 if errors else 200)


@requires(roles.VIEW)
def acceptance_record(request, number):
    record = queries.acceptance_record(request.user, number)
    items, notes = [], _photo_warnings(record.answers)
    for item in record.checklist.items.all():
        value = record.answers.get(item.code)
        photos = value if item.item_type == "photo" and isinstance(value, list) else []
        items.append({"item": item, "photos": [{"pk": pk, "warnings": notes.get(pk, [])} for pk in photos],
                      "value": ("是" if value else "否") if item.item_type == "yes_no" and value is not None
                      else "" if item.item_type == "photo" else value})
    return render(request, "inspections/acceptance_record.html", {"record": record, "items": items})


def _photo_warnings(answers: dict) -> dict:
    """Evidence id → its warnings (no EXIF, taken far from the village …) for the photos of a record."""
    ids = [pk for value in answers.values() if isinstance(value, list) for pk in value if isinstance(pk, int)]
    return dict(EvidenceFile.objects.filter(pk__in=ids).values_list("pk", "warnings"))


@requires(roles.VIEW)
def acceptance_list(request):
    records = queries.acceptance_records(request.user).select_related("household").order_by("-id")[:200]
    return render(request, "inspections/acceptance_list.html", {"records": records})


@requires(roles.VIEW)
def evidence_file(request, evidence_id, variant="display"):
    """A photo or scan in the user's scope (else 404): the resized copy without EXIF, or the original
    kept as evidence (?original)."""
    found = queries.evidence_file(request.user, evidence_id)
    original = variant == "original" or not found.display_name
    try:
        handle = files.evidence_storage().open(found.stored_name if original else found.display_name, "rb")
    except OSError:  # the row outlived its file (a storage restored from an older copy): say so, no 500
        raise Http404("文件不存在") from None
    response = FileResponse(handle, content_type=found.content_type if original else "image/jpeg")
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@requires(roles.VIEW)
def evidence_original(request, evidence_id):
    return evidence_file(request, evidence_id, variant="original")
