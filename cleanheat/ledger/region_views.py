"""Pages for region changes (撤乡并镇): record one, preview what it moves, apply it. Thin: checks in
`regions.services`, the households' part in `ledger.services.apply_region_change`."""
from datetime import date

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cleanheat.access import requires
from cleanheat.accounts.roles import REGION_CHANGES
from cleanheat.regions import codes
from cleanheat.regions import services as region_changes
from cleanheat.regions.models import RegionChange
from cleanheat.regions.scope import in_scope, user_prefix

from . import services
from .choices import Channel

FIELDS = ("kind", "effective_on", "from_codes", "villages", "to_code", "to_name", "note")


def _visible(user, change) -> bool:
    return all(in_scope(user, code) for code in [*change.from_codes, *change.villages, change.to_code] if code)


@requires(REGION_CHANGES)
def change_list(request):
    """The changes recorded within the user's scope, and the form to record one."""
    errors, values = {}, {}
    if request.method == "POST":
        values = {f: request.POST.get(f, "").strip() for f in FIELDS}
        try:
            effective_on = date.fromisoformat(values["effective_on"]) if values["effective_on"] else None
        except ValueError:
            errors = {"effective_on": ["生效日期应为 年-月-日"]}
        if not errors:
            try:
                change = region_changes.record_change(
                    kind=values["kind"], effective_on=effective_on, from_codes=values["from_codes"],
                    villages=values["villages"], to_code=values["to_code"], to_name=values["to_name"],
                    note=values["note"], user=request.user)
                return redirect("region_change", change_id=change.pk)
            except ValidationError as error:
                errors = error.message_dict
    prefix = user_prefix(request.user)
    changes = [c for c in RegionChange.objects.select_related("recorded_by")
               if _visible(request.user, c) and any(code.startswith(prefix) for code in [*c.from_codes, c.to_code])]
    return render(request, "regions/changes.html", {"changes": changes, "errors": errors, "values": values,
                                                    "kinds": RegionChange.KIND_CHOICES})


@requires(REGION_CHANGES)
def change_page(request, change_id):
    """One change: what it will move (regions, villages, households), or what it moved."""
    change = get_object_or_404(RegionChange, pk=change_id)
    if not _visible(request.user, change):
        raise Http404
    context = {"change": change}
    if not change.applied_at:
        try:
            plan = region_changes.plan(change, user=request.user)
            counts = services.households_in(plan.villages)
            context.update(lines=plan.describe(), villages=len(plan.villages),
                           households=sum(stored for _, stored in counts.values()),
                           active=sum(active for active, _ in counts.values()),
                           scoped_users=_users_under([code for code, _ in plan.retire]))
        except ValidationError as error:
            context["problems"] = [m for ms in error.message_dict.values() for m in ms]
    return render(request, "regions/change.html", context)


def _users_under(retired: list) -> list:
    """Users whose scope is a region the change retires: an administrator gives them the new one."""
    prefixes = {codes.prefix_of(code) for code in retired}
    return [u for u in get_user_model().objects.filter(is_active=True).exclude(region_scope="")
            if u.region_scope in prefixes]


@require_POST
@requires(REGION_CHANGES)
def change_apply(request, change_id):
    change = get_object_or_404(RegionChange, pk=change_id)
    if not _visible(request.user, change):
        raise Http404
    try:
        summary = services.apply_region_change(change, user=request.user, channel=Channel.UI)
        messages.success(request, f"已实施：{summary['villages']}个村（社区）改用新代码，{summary['households']}户随之调整")
    except ValidationError as error:
        for ms in error.message_dict.values():
            for m in ms:
                messages.error(request, m)
    return redirect("region_change", change_id=change.pk)
