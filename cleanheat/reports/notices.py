"""Notices to residents (issue #19 part 6): per village, a printable 公示 of the households planned
for conversion with their path and equipment, and a 告知书 per household in large type (what will be
installed, the subsidy lines, the household number and the hotline to call); both as one PDF for the
whole village.

Names and ID numbers are masked as PIPL Art. 51 expects: the name by ledger.identity.mask_name, the
ID number by mask_id_public from the stored masked form (nothing is decrypted here). The hotline is
data: reports/data/hotlines.json (the longest region-code prefix wins), editable without code.
Subsidy lines are read through the household's `entitlements` relation (the subsidies app stands
beside reports, which may not import it)."""
import json
from functools import cache, partial
from pathlib import Path
from urllib.parse import quote

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from cleanheat.access import require_in_scope, requires, scope_filter
from cleanheat.accounts.roles import REPORTS
from cleanheat.audit.services import record
from cleanheat.filenames import stamped
from cleanheat.ledger.identity import mask_id_public, mask_name
from cleanheat.ledger.models import Household
from cleanheat.pdf import render_pdf, render_pdf_split
from cleanheat.procurement.models import Allocation
from cleanheat.regions import codes
from cleanheat.regions.models import Region

HOTLINES = Path(__file__).parent / "data" / "hotlines.json"
STYLES = ["css/resident_notices.css"]


@cache
def _hotlines(path: Path = HOTLINES) -> tuple:
    rows = json.loads(path.read_text(encoding="utf-8"))["hotlines"]
    return tuple(sorted(((r["region"], r["name"], r["number"]) for r in rows), key=lambda r: -len(r[0])))


def hotline_for(code: str) -> dict:
    """The hotline of the longest prefix of `code` in the data file ({} when none)."""
    for prefix, name, number in _hotlines():
        if code.startswith(prefix):
            return {"name": name, "number": number}
    return {}


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _village(request, village_code) -> Region:
    require_in_scope(request.user, village_code)   # outside the scope: 404 before anything is read
    region = get_object_or_404(Region, code=village_code)
    if region.level != codes.VILLAGE:
        raise Http404("未找到该村（社区）")
    return region


def village_notices(request, village_code) -> dict:
    """The village's active households in household-number order, each with masked name and ID,
    path, allocated equipment and subsidy lines; the place names and the hotline."""
    region = _village(request, village_code)
    households = list(scope_filter(Household.objects.filter(village_id=region.code, archived=False), request.user,
                                   "village_id").order_by("household_no").prefetch_related("entitlements"))
    equipment = {a.household_id: a.line.model for a in Allocation.objects.filter(
        household__in=[h.pk for h in households], released_at__isnull=True).select_related("line__model")}
    rows = []
    for h in households:
        model = equipment.get(h.pk)
        lines = sorted(h.entitlements.all(), key=lambda e: (e.year, e.kind, e.season))
        rows.append({
            "no": h.household_no, "name": mask_name(h.householder_name), "id": mask_id_public(h.id_number_masked),
            "path": h.get_heating_path_display(), "device": h.get_electric_device_display(),
            "model": model.model_name if model else "",
            "equipment_of": f"{model.get_equipment_type_display()} {model.vendor}" if model else "",
            "subsidies": [{"year": e.year, "kind": e.get_kind_display(), "season": e.season,
                           "amount": _yuan(e.amount_fen), "status": e.get_status_display()} for e in lines],
            "total": _yuan(sum(e.amount_fen for e in lines))})
    township = Region.objects.filter(code=codes.full_code(region.code[:9])).first()
    county = Region.objects.filter(code=codes.full_code(region.code[:6])).first()
    return {"region": region, "place": " ".join(r.name for r in (county, township, region) if r),
            "rows": rows, "hotline": hotline_for(region.code)}


def _pdf(request, village_code, template, title, render=render_pdf):
    context = village_notices(request, village_code)
    content = render(template, context, request=request, stylesheets=STYLES)
    region = context["region"]
    record("export", request=request, region_code=region.code, target=f"{title}PDF：{region.name}",
           detail=f"{len(context['rows'])}户")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stamped(title, region.name, suffix='.pdf'))}"
    return response


@requires(REPORTS)
def roster(request, village_code):
    """The village's 公示 of the households planned for conversion, printable."""
    return render(request, "reports/resident_roster.html", village_notices(request, village_code))


@requires(REPORTS)
def roster_pdf(request, village_code):
    return _pdf(request, village_code, "reports/resident_roster.html", "改造户公示")


@requires(REPORTS)
def letters(request, village_code):
    """One 告知书 per household of the village, one printed page each, in large type."""
    return render(request, "reports/resident_letters.html", village_notices(request, village_code))


@requires(REPORTS)
def letters_pdf(request, village_code):
    # One page per household: the pages are laid out in parts on every core (a 300-household village).
    return _pdf(request, village_code, "reports/resident_letters.html", "改造告知书",
                render=partial(render_pdf_split, split="rows"))
