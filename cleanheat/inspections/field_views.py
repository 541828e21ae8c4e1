"""The inspectors' mobile pages (390 px): today's sample and the visit form. The form is sent by
static/js/field.js to the API (`POST /api/inspections/visits`) with an id made on the phone; when the
network is down the visit waits in the browser (IndexedDB) and is sent when it returns; the server
keeps each visit once. static/js/field-sw.js keeps the pages for use without the network."""
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render

from cleanheat.access import requires, scope_filter
from cleanheat.accounts import roles

from .loader import current_checklist
from .models import InspectionKind, SampledHousehold


def open_samples(user):
    """Samples of the rounds in the user's area not visited yet (self-inspection, assessment, joint)."""
    return scope_filter(SampledHousehold.objects.filter(visits__isnull=True), user, "region_code") \
        .exclude(round__kind=InspectionKind.ACCEPTANCE)


@requires(roles.INSPECT)
def field_home(request):
    samples = open_samples(request.user).select_related("household", "round", "household__village") \
        .order_by("region_code", "household__household_no")[:200]
    return render(request, "inspections/field_home.html", {"samples": samples})


@requires(roles.INSPECT)
def field_visit(request, sample_id):
    sample = open_samples(request.user).select_related("household", "round").filter(pk=sample_id).first() \
        if str(sample_id).isdigit() else None
    if sample is None:
        raise Http404("未找到")
    checklist = current_checklist(sample.household.heating_path, sample.round.kind)
    return render(request, "inspections/field_visit.html", {
        "sample": sample, "household": sample.household, "checklist": checklist,
        "items": checklist.items.all() if checklist else []})


@requires(roles.INSPECT)
def field_worker(request):
    """The service worker, served from /inspections/field/ so that it may keep the field pages."""
    path = finders.find("js/field-sw.js")
    with open(path, encoding="utf-8") as handle:
        response = HttpResponse(handle.read(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/inspections/field/"
    return response
