from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, require_perm, requires
from cleanheat.accounts import roles
from cleanheat.regions import places
from cleanheat.regions.codes import full_code
from cleanheat.regions.models import Region
from cleanheat.regions.scope import counties_for, in_scope
from cleanheat.versions import StaleEdit, rebased_data

from . import batch, identity, labels, records, search, services
from .choices import VULNERABLE_FLAGS, Channel, HeatingPath, LifecycleState
from .forms import ArchiveForm, BatchForm, HouseholdForm, OutageForm, TransitionForm, earlier_states, next_state
from .models import Household
from .queries import household_queryset, in_list_order, scoped_household

FILTERS = ("region", "path", "state", "flag", "q")


def _form_errors(form, error: ValidationError):
    for field, msgs in error.message_dict.items():
        target = field if field in form.fields else None
        for msg in msgs:
            form.add_error(target, msg)


@requires(roles.VIEW)
def household_list(request):
    """The search form posts; an ID number or phone comes back as a token (?s=), never in the URL.
    An old link with such a number in ?q= is exchanged the same way."""
    if request.method == "POST" or identity.looks_like_identifier(request.GET.get("q", "")):
        data = request.POST if request.method == "POST" else request.GET
        return redirect(f"{reverse('households')}?{search.list_query(request, data, FILTERS)}")
    archived = request.GET.get("archived") == "1"
    try:
        values = search.filters(request, request.GET, FILTERS)
        qs = in_list_order(household_queryset(request.user, archived=archived, **values), request.user, values["region"])
    except search.SearchExpired as expired:
        messages.warning(request, str(expired))
        values = {k: request.GET.get(k, "").strip() for k in FILTERS}
        qs = Household.objects.none()
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "ledger/household_list.html", {
        "page": page, "values": values, "archived": archived, "query": query.urlencode(),
        "shown_q": search.shown_term(values["q"]),
        "token": request.GET.get("s", "") if values["q"] and not request.GET.get("q", "").strip() else "",
        "paths": HeatingPath.choices, "states": LifecycleState.choices,
        "flags": list(VULNERABLE_FLAGS.items()),
        "selectable": not archived and (has_perm(request.user, roles.LIFECYCLE) or has_perm(request.user, roles.ARCHIVE)),
        "batch_form": BatchForm(),
        "region_hint": _region_hint(request.user, values["region"], query),
    })


def _region_hint(user, text: str, query) -> dict | None:
    """What the region box found for a name (or an unknown code): the one place it filters by, the
    places to choose from, or that nothing in the user's area is called so, instead of a silent 0."""
    text = identity.normalise_text(text)
    if not text:
        return None
    if text.isdigit():
        known = Region.objects.filter(code=full_code(text)).select_related("parent__parent").first() \
            if len(text) <= 12 and in_scope(user, full_code(text)) else None
        if known is None:
            return {"kind": "unknown_code", "text": text}
        found = [known]
    else:
        found = places.resolve(user, text)
    choices = []
    for place in found[:places.MAX_RESULTS]:
        link = query.copy()
        link["region"] = place.code
        choices.append({"place": place, "trail": places.trail(place), "query": link.urlencode()})
    kind = "none" if not found else "one" if len(found) == 1 else "several"
    return {"kind": kind, "text": text, "choices": choices, "more": len(found) > places.MAX_RESULTS}


@requires(roles.VIEW)
def household_detail(request, household_no):
    household = scoped_household(request.user, household_no)
    user = request.user
    return render(request, "ledger/household_detail.html", {
        "household": household,
        "ancestors": household.village.ancestors() + [household.village],
        "events": household.lifecycle_events.select_related("user").order_by("id"),
        "changes": labels.history_lines(household.changes.select_related("user").order_by("-id")[:200])
        if has_perm(user, roles.HISTORY) else None,
        "transition_form": TransitionForm(),
        "next_state": _labelled(next_state(household.state)),
        "earlier_states": earlier_states(household.state),
        "archive_form": ArchiveForm(),
        "outage_form": OutageForm(),
    })


@requires(roles.VIEW)
def household_record(request, household_no):
    """户档案: one household on an A4 page — its data (identifiers masked as on its page), its
    conversion steps and its equipment — to print and file."""
    household = scoped_household(request.user, household_no)
    return render(request, "ledger/household_record.html", {
        "household": household,
        "ancestors": household.village.ancestors() + [household.village],
        "events": household.lifecycle_events.select_related("user").order_by("id"),
        "allocations": [a for a in household.allocations.select_related("line__model", "line__contract")
                        if not a.released_at],
    })


def _labelled(state):
    return (state, LifecycleState(state).label) if state else None


def _edit(request, household=None):
    form = HouseholdForm(request.POST or None, editing=household is not None,
                         initial=_initial(household) if household else None)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            if household is None:
                household = services.create_household(form.service_data(), user=request.user,
                                                       channel=Channel.UI)
                messages.success(request, f"已建档：户编号 {household.household_no}")
            else:
                changes = services.update_household(household, form.service_data(),
                                                    user=request.user, channel=Channel.UI,
                                                    expected_version=form.cleaned_data["version"])
                messages.success(request, f"已保存，{len(changes)} 项变更" if changes else "没有变更")
            return redirect("household", household_no=household.household_no)
        except StaleEdit as stale:
            household = scoped_household(request.user, household.household_no)
            form, conflict = _rebased(form, household, stale), stale.changes
        except ValidationError as error:
            _form_errors(form, error)
    village = form["village"].value() or (household.village_id if household else "")
    return render(request, "ledger/household_form.html", {
        "form": form, "household": household, "counties": counties_for(request.user),
        "village": village, "county": village[:6] if village else "", "conflict": conflict,
    })


def _initial(household):
    initial = {name: getattr(household, name) for name in services.EDITABLE_FIELDS
               if name not in records.PII_FIELDS and name != "village"}
    initial["village"] = household.village_id
    initial["heat_source"] = household.heat_source.name if household.heat_source else ""
    initial["version"] = household.version
    return initial


def _rebased(form, household, stale: StaleEdit) -> HouseholdForm:
    """A refused stale save, shown again on the household as it is now with this user's own
    changes on top."""
    initial = _initial(household)
    data = rebased_data(form, HouseholdForm(editing=True, initial=initial), household.version)
    rebased = HouseholdForm(data, editing=True, initial=initial)
    rebased.is_valid()
    for message in stale.messages:
        rebased.add_error(None, message)
    return rebased


@requires(roles.EDIT)
def household_create(request):
    return _edit(request)


@requires(roles.EDIT)
def household_edit(request, household_no):
    return _edit(request, scoped_household(request.user, household_no))


def _post_action(request, household_no, form_class, action, done):
    household = scoped_household(request.user, household_no)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(household, form.cleaned_data)
            messages.success(request, done)
        except ValidationError as error:
            for msgs in error.message_dict.values():
                for msg in msgs:
                    messages.error(request, msg)
    else:
        for msgs in form.errors.values():
            for msg in msgs:
                messages.error(request, msg)
    return redirect("household", household_no=household.household_no)


@require_POST
@requires(roles.LIFECYCLE)
def household_transition(request, household_no):
    return _post_action(request, household_no, TransitionForm, lambda h, d: services.transition(
        h, d["to_state"], user=request.user, channel=Channel.UI, reason=d["reason"],
        occurred_on=d["occurred_on"]), "改造状态已更新")


@require_POST
@requires(roles.ARCHIVE)
def household_archive(request, household_no):
    return _post_action(request, household_no, ArchiveForm, lambda h, d: services.archive_household(
        h, reason=d["reason"], user=request.user, channel=Channel.UI), "已归档")


@require_POST
@requires(roles.ARCHIVE)
def household_restore(request, household_no):
    return _post_action(request, household_no, ArchiveForm, lambda h, d: services.restore_household(
        h, user=request.user, channel=Channel.UI, reason=d["reason"]), "已恢复")


@require_POST
@requires(roles.VIEW)
def household_reveal(request, household_no):
    """htmx: swap one masked value for the full one, after a reason is given (audited)."""
    household = scoped_household(request.user, household_no)
    field = request.POST.get("field", "")
    try:
        value = services.reveal(household, field, user=request.user, reason=request.POST.get("reason", ""),
                                request=request)
    except ValidationError as error:
        return render(request, "ledger/_reveal.html", {"household": household, "field": field,
                                                       "errors": sum(error.message_dict.values(), [])})
    return render(request, "ledger/_reveal.html", {"household": household, "field": field, "value": value})


@require_POST
@requires(roles.EDIT)
def household_outage(request, household_no):
    return _post_action(request, household_no, OutageForm, lambda h, d: services.record_outage(
        h, reported_on=d["reported_on"], resolved_on=d["resolved_on"], description=d["description"],
        user=request.user, channel=Channel.UI), "已登记停暖")


BATCH_PERMISSION = {"transition": roles.LIFECYCLE, "archive": roles.ARCHIVE}


@require_POST
@requires(roles.VIEW)
def household_batch(request):
    """Households ticked in the list: first a confirm page naming them and the action, then the
    action household by household through the service, and a list of what was done or refused."""
    form = BatchForm(request.POST)
    numbers = request.POST.getlist("household_no")
    back = f"{reverse('households')}?{request.POST.get('back', '')}"
    if not form.is_valid() or not numbers:
        problems = [m for msgs in form.errors.values() for m in msgs] if numbers else ["请先勾选要处理的居民用户"]
        for message in problems:
            messages.error(request, message)
        return redirect(back)
    data = form.cleaned_data
    require_perm(request.user, BATCH_PERMISSION[data["action"]])
    context = {"form": form, "data": data, "back": back, "back_query": request.POST.get("back", ""),
               "to_state_label": LifecycleState(data["to_state"]).label if data["to_state"] else ""}
    if request.POST.get("step") != "run":
        households, missing = batch.selected(request.user, numbers)
        return render(request, "ledger/batch_confirm.html", {**context, "households": households, "missing": missing})
    if data["action"] == "transition":
        outcomes = batch.transition(request.user, numbers, data["to_state"], reason=data["reason"],
                                    occurred_on=data["occurred_on"])
    else:
        outcomes = batch.archive(request.user, numbers, reason=data["reason"])
    return render(request, "ledger/batch_result.html", {
        **context, "outcomes": outcomes, "done": sum(o.done for o in outcomes),
        "refused": sum(not o.done for o in outcomes)})
