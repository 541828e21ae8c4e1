"""Pages of declaration and review (申报审核): the queue per level with each village's list and its
bulk action, the mobile declaration form, the declaration page with its history, the actions, and
the photos (served only in scope). Every write goes through services."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, requires
from cleanheat.accounts import roles
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household, scoped_households
from cleanheat.regions.models import Region
from cleanheat.regions.scope import require_in_scope

from . import declaration_flow as flow
from . import services
from .forms import DeclarationForm

BULK_ACTIONS = (flow.REVIEW, flow.APPROVE)


def _year(request) -> int:
    value = request.GET.get("year", "") or request.POST.get("year", "")
    return int(value) if value.isascii() and value.isdigit() and 2000 <= int(value) <= 2100 else timezone.localdate().year


def _my_states(user) -> list[str]:
    """The states in which the user's level holds a declaration (what waits for them)."""
    held = services.held_permissions(user)
    return [s for s, level in flow.HOLDER.items() if services.LEVEL_PERMISSIONS[level] in held]


@requires(roles.SUBSIDIES)
def queue(request):
    user, year = request.user, _year(request)
    number = request.GET.get("household_no", "").strip()[:40]
    missing = ""
    if number and has_perm(user, roles.DECLARE):
        if scoped_households(user).filter(household_no=number).exists():
            return redirect(f"{reverse('declaration_new', args=[number])}?year={year}")
        missing = f"户编号“{number}”不存在或不在您的管辖范围内"
    rows = (services.declarations_for(user).filter(year=year).values("village_code", "status")
            .annotate(n=Count("pk")).order_by())
    mine = _my_states(user)
    villages = {}
    for r in rows:
        v = villages.setdefault(r["village_code"], {"code": r["village_code"], "waiting": 0, "total": 0,
                                                    **{s: 0 for s in flow.STATES}})
        v[r["status"]] += r["n"]
        v["total"] += r["n"]
        v["waiting"] += r["n"] if r["status"] in mine else 0
    names = dict(Region.objects.filter(code__in=list(villages)).values_list("code", "name"))
    listed = sorted(villages.values(), key=lambda v: (-v["waiting"], v["code"]))
    for v in listed:
        v["name"] = names.get(v["code"], v["code"])
        v["counts"] = [(flow.STATE_LABELS[s], v[s]) for s in flow.STATES]
    return render(request, "subsidies/declarations.html", {
        "year": year, "villages": listed, "states": [flow.STATE_LABELS[s] for s in flow.STATES],
        "mine": [flow.STATE_LABELS[s] for s in mine], "missing": missing})


@requires(roles.SUBSIDIES)
def village(request, village_code):
    """One village's declarations for the year: look at its list, then act on those ticked."""
    user, year = request.user, _year(request)
    require_in_scope(user, village_code)
    region = Region.objects.filter(code=village_code).first()
    if region is None:
        raise Http404("未找到")
    results = None
    if request.method == "POST":
        results = _bulk(request, village_code, year)
    declarations = list(services.declarations_for(user).filter(village_code=village_code, year=year)
                        .order_by("household__household_no"))
    for d in declarations:
        d.can = [a for a in services.actions_for(user, d) if a in BULK_ACTIONS]
    bulk_actions = sorted({a for d in declarations for a in d.can}, key=BULK_ACTIONS.index)
    return render(request, "subsidies/declaration_village.html", {
        "region": region, "year": year, "declarations": declarations, "results": results,
        "bulk_actions": [(a, flow.ACTION_LABELS[a]) for a in bulk_actions]})


def _bulk(request, village_code, year) -> list[dict]:
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        messages.error(request, "请选择批量操作（审核通过或审批通过）")
        return None
    versions = {}
    for value in request.POST.getlist("pick"):
        pk, _, version = value.partition(":")
        if pk.isdigit() and version.isdigit():
            versions[int(pk)] = int(version)
    if not versions:
        messages.error(request, "请先勾选要处理的申报")
        return None
    return services.act_on_village(request.user, village_code, year, action, versions,
                                   note=request.POST.get("note", "")[:500], channel=Channel.UI)


def _form_errors(form, error: ValidationError) -> None:
    fields = {"purchase_fen": "purchase_yuan"}
    for field, problems in error.message_dict.items():
        name = fields.get(field, field)
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


@requires(roles.DECLARE)
def declare(request, household_no):
    household = scoped_household(request.user, household_no)
    existing = services.declarations_for(request.user).filter(household=household, year=_year(request)).first()
    if existing is not None and request.method == "GET":
        return redirect("declaration", declaration_id=existing.pk)
    form = DeclarationForm(request.POST or None, request.FILES or None,
                           initial={"year": _year(request)})
    if request.method == "POST" and form.is_valid():
        try:
            declaration = services.save_declaration(household, form.values(), form.files_given(), user=request.user,
                                                    submit="submit" in request.POST, channel=Channel.UI)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "已提交申报" if "submit" in request.POST else "已保存申报草稿")
            return redirect("declaration", declaration_id=declaration.pk)
    return render(request, "subsidies/declaration_form.html", {"form": form, "household": household,
                                                                "declaration": None})


@requires(roles.DECLARE)
def edit(request, declaration_id):
    declaration = services.get_declaration(request.user, declaration_id)
    if declaration.status not in flow.EDITABLE:
        messages.error(request, f"申报为“{flow.STATE_LABELS[declaration.status]}”，不能修改")
        return redirect("declaration", declaration_id=declaration.pk)
    initial = {"year": declaration.year, "invoice_no": declaration.invoice_no, "installer": declaration.installer,
               "purchase_yuan": declaration.purchase_fen / 100, "installed_on": declaration.installed_on}
    form = DeclarationForm(request.POST or None, request.FILES or None, initial=initial, fixed_year=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_declaration(declaration.household, form.values(), form.files_given(), user=request.user,
                                      declaration=declaration, version=request.POST.get("version"),
                                      submit="submit" in request.POST, channel=Channel.UI)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "已重新提交申报" if "submit" in request.POST else "已保存修改")
            return redirect("declaration", declaration_id=declaration.pk)
    return render(request, "subsidies/declaration_form.html", {"form": form, "household": declaration.household,
                                                                "declaration": declaration})


@requires(roles.SUBSIDIES)
def page(request, declaration_id):
    declaration = services.get_declaration(request.user, declaration_id)
    actions = [a for a in services.actions_for(request.user, declaration) if a not in (flow.SUBMIT, flow.RESUBMIT)]
    steps = declaration.steps.select_related("user").order_by("at", "pk")
    return render(request, "subsidies/declaration.html", {
        "d": declaration, "steps": steps, "attachments": declaration.attachments.all(),
        "status_label": flow.STATE_LABELS[declaration.status],
        "actions": [(a, flow.ACTION_LABELS[a]) for a in actions], "sections": list(flow.SECTIONS.items()),
        "editable": declaration.status in flow.EDITABLE and roles.DECLARE in services.held_permissions(request.user),
        "submittable": [(a, flow.ACTION_LABELS[a]) for a in services.actions_for(request.user, declaration)
                        if a in (flow.SUBMIT, flow.RESUBMIT)],
        "entitlements": services.entitlements_for(request.user).filter(household=declaration.household,
                                                                       year=declaration.year)})


@require_POST
@requires(roles.SUBSIDIES)
def act(request, declaration_id):
    action = request.POST.get("action", "")
    opinions = {k: request.POST.get(f"opinion_{k}", "") for k in flow.SECTIONS}
    try:
        services.act_on_declaration(declaration_id, action, user=request.user, version=request.POST.get("version"),
                                    opinions=opinions, note=request.POST.get("note", ""), channel=Channel.UI)
        messages.success(request, f"已{flow.ACTION_LABELS.get(action, '')}")
    except ValidationError as error:
        messages.error(request, "未执行：" + "；".join(error.messages))
    return redirect("declaration", declaration_id=declaration_id)


@requires(roles.SUBSIDIES)
def attachment(request, attachment_id):
    found, handle = services.open_attachment(request.user, attachment_id)
    response = FileResponse(handle, content_type=found.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response
