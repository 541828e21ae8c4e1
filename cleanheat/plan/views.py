from datetime import date

from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from cleanheat.access import requires
from cleanheat.accounts.roles import VIEW
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope, user_prefix

from . import progress
from .models import Plan


def current_plan(city_code: str):
    return Plan.objects.filter(city_code=city_code).order_by("-year").first()


def progress_rows(region: Region, plan, on: date, path: str | None):
    """One row per child unit (or the node itself at village level), with flags."""
    level = min(region.level + 1, codes.VILLAGE)
    unit_length = codes.PREFIX_LENGTH[level]
    counts = progress.counts_on(region.prefix, unit_length, on)
    targets = progress.county_targets(plan, region.prefix, path) if plan else {}
    children = list(region.children.all()) if region.level < codes.VILLAGE else [region]
    rows = []
    for child in children:
        reached = progress.reached(counts.get(child.prefix, {}), path)
        row = {"region": child, "reached": reached, "target": None, "behind": 0}
        county = targets.get(child.code[:6]) if child.level == codes.COUNTY else None
        if county:
            expected_installed, expected_accepted = progress.expected_by(county, plan.works_start, on)
            installed = reached[STATE_INDEX["installed"]]
            row.update(target=county["target"], expected=expected_installed, deadline=county["deadline"],
                       days_left=(county["deadline"] - on).days,
                       rate=round(100 * installed / county["target"], 1) if county["target"] else None,
                       behind=max(0, expected_installed - installed))
        rows.append(row)
    return rows


STATE_INDEX = {s: i for i, s in enumerate(LifecycleState.values)}


@requires(VIEW)
def progress_page(request, code):
    region = get_object_or_404(Region, code=code)
    require_in_scope(request.user, region.code)
    try:
        on = date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else timezone.localdate()
    except ValueError:
        on = timezone.localdate()
    path = request.GET.get("path") if request.GET.get("path") in HeatingPath.values else None
    plan = current_plan(codes.full_code(region.code[:4]))
    rows = progress_rows(region, plan, on, path)
    ancestors = [a for a in region.ancestors() if a.code.startswith(user_prefix(request.user))]
    return render(request, "plan/progress.html", {
        "region": region, "ancestors": ancestors, "plan": plan, "rows": rows, "on": on, "path": path,
        "paths": HeatingPath.choices, "states": LifecycleState.choices,
        "behind": [r for r in rows if r["behind"]],
    })
