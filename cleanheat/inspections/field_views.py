"""The inspectors' mobile pages (390 px): today's sample and the visit form. The form is sent by
static/js/field.js to the API (`POST /api/inspections/visits`) with an id made on the phone; when the
network is down the visit waits in the browser (IndexedDB) and is sent when it returns; the server
keeps each visit once. static/js/field-sw.js keeps the pages for use without the network."""
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render

from cleanheat.access import requires, scope_filter
from cleanheat.accounts import roles
from cleanheat.regions import locations

from .distance import nearest_first
from .loader import current_checklist
from .models import InspectionKind, SampledHousehold

LISTED = 200          # households shown on the phone
CONSIDERED = 5000     # open samples measured when nearest first is asked (the nearest LISTED are shown)


def open_samples(user):
    """Samples of the rounds in the user's area not visited yet (self-inspection, assessment, joint)."""
    return scope_filter(SampledHousehold.objects.filter(visits__isnull=True), user, "region_code") \
        .exclude(round__kind=InspectionKind.ACCEPTANCE)


def phone_position(query) -> tuple | None:
    """(lat, lon) the page was sent with (?lat=&lon=, from the phone's location), or None."""
    try:
        lat, lon = float(query.get("lat", "")), float(query.get("lon", ""))
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


@requires(roles.INSPECT)
def field_home(request):
    """Today's sample; nearest first (with the distance) when the phone's position is given and the
    villages (or their townships, counties) have coordinates, else by village and household number."""
    here = phone_position(request.GET)
    samples = list(open_samples(request.user).select_related("household", "round", "household__village")
                   .order_by("region_code", "household__household_no")[:CONSIDERED if here else LISTED])
    points = locations.points_for([s.region_code for s in samples]) if here else {}

    def point_of(sample):
        point = points.get(sample.region_code)
        return None if point is None else (point.latitude, point.longitude)

    rows = [{"sample": s, "km": km} for s, km in nearest_first(samples, here, point_of)[:LISTED]]
    return render(request, "inspections/field_home.html", {"rows": rows, "here": here})


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
