"""The villages' coordinates page (村庄坐标): upload the sheet (区划代码, 经度, 纬度) that lets photos
be checked against where they were taken and the inspectors' phones list the nearest visits first.
Thin: reading in `coordinates`, checks and the write in `regions.services.import_coordinates`."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cleanheat.access import requires, scope_filter
from cleanheat.accounts.roles import REGION_CHANGES
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import coordinates


@require_http_methods(["GET", "POST"])
@requires(REGION_CHANGES)
def coordinates_page(request):
    errors = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = ["请选择村庄坐标表文件"]
        else:
            try:
                written = coordinates.import_file(upload.name, upload.read(), user=request.user)
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, f"已写入 {written} 个区划的坐标")
                return redirect("village_coordinates")
    counts = scope_filter(Region.objects.filter(level__in=(codes.COUNTY, codes.TOWNSHIP, codes.VILLAGE)),
                          request.user, "code").values("level").annotate(
        total=Count("pk"), located=Count("pk", filter=Q(latitude__isnull=False, longitude__isnull=False)))
    names = {codes.COUNTY: "县（市、区）", codes.TOWNSHIP: "乡（镇、街道）", codes.VILLAGE: "村（社区）"}
    return render(request, "inspections/coordinates.html", {
        "errors": errors, "max_mb": coordinates.MAX_BYTES // 1024 // 1024,
        "counts": [{"level": names[c["level"]], **c} for c in sorted(counts, key=lambda c: c["level"])]},
        status=422 if errors else 200)
