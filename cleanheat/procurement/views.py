"""Pages of the procurement module: catalog, contracts, the household advisor, batch sizing."""
import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, requires
from cleanheat.accounts import roles
from cleanheat.jobs.models import Job
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.queries import scoped_household
from cleanheat.regions.models import Region
from cleanheat.regions.scope import counties_for, require_in_scope, user_prefix
from cleanheat.versions import StaleEdit, changes_seen, rebased_data

from . import advisor, batch, catalog_rules, services, sizing, xlsx
from .forms import CatalogModelForm, ContractForm, ReleaseForm
from .models import Allocation, CatalogModel, CountyContract, TenderLot


@requires(roles.VIEW)
def catalog_page(request):
    if request.method == "POST":
        if not has_perm(request.user, roles.CATALOG):
            return HttpResponse(status=403)
        uploaded = request.FILES.get("file")
        if uploaded is None or Path(uploaded.name).suffix.lower() not in (".xlsx", ".xls", ".ods"):
            messages.error(request, "请上传招标结果 Excel 文件（.xlsx）")
        else:
            with tempfile.NamedTemporaryFile(suffix=Path(uploaded.name).suffix) as fh:
                for chunk in uploaded.chunks():
                    fh.write(chunk)
                fh.flush()
                try:
                    result = services.import_catalog(fh.name, user=request.user, filename=uploaded.name)
                    messages.success(request, f"已导入：新增{result['created']}个型号，更新{result['updated']}个型号")
                except ValidationError as error:
                    for problem in error.messages[:50]:
                        messages.error(request, problem)
                    messages.error(request, "文件有问题，未导入任何型号（全部或全不）")
            return redirect("catalog")
    prefix = user_prefix(request.user)[:6]
    lots = list(TenderLot.objects.filter(Q(county_code="") | Q(county_code__startswith=prefix))
                .prefetch_related("models").order_by("-year", "tender_no", "code"))
    for model, problems in catalog_rules.unusable_models(m for lot in lots for m in lot.models.all()):
        model.problems = problems   # shown instead of data the page cannot read
    return render(request, "procurement/catalog.html", {"lots": lots})


@requires(roles.VIEW)
def catalog_template(request):
    return xlsx.catalog_template_response()


@requires(roles.CATALOG)
def catalog_model_edit(request, model_id):
    model = get_object_or_404(services.visible_models(request.user), pk=model_id)
    form = _catalog_form(request.POST or None, model)
    conflict = None
    if request.method == "POST" and form.is_valid():
        seen = form.cleaned_data["version"] or None  # a post without it writes every field, as before
        names = form.changed_data if seen else form.fields  # else only what this user changed
        try:
            changed = services.update_catalog_model(model, {f: form.cleaned_data[f] for f in names if f != "version"},
                                                    user=request.user, expected_version=seen)
        except StaleEdit as stale:
            current = _catalog_form(None, model)
            conflict = changes_seen(form, current)
            form = _catalog_form(rebased_data(form, current, current["version"].initial), model)
            form.is_valid()
            form.add_error(None, stale.messages[0])
        except ValidationError as error:   # e.g. the same model name twice in a lot
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, f"已保存，{len(changed)} 项变更" if changed else "没有变更")
            return redirect("catalog")
    return render(request, "procurement/catalog_model_form.html", {"form": form, "model": model, "conflict": conflict})


def _catalog_form(data, model):
    """The edit form of the entry as stored now (a fresh copy: the form writes into its instance)."""
    stored = CatalogModel.objects.get(pk=model.pk)
    return CatalogModelForm(data, instance=stored, initial={"version": services.catalog_version(stored)})


@requires(roles.VIEW)
def contract_list(request):
    contracts = list(services.visible_contracts(request.user).prefetch_related("lines__model"))
    counts = services.line_counts([line for c in contracts for line in c.lines.all()])
    names = dict(Region.objects.filter(level=2).values_list("code", "name"))
    for c in contracts:
        c.county_name = names.get(c.county_code.ljust(12, "0"), c.county_code)
        c.totals = {k: sum(counts[line.pk][k] for line in c.lines.all()) for k in ("contracted", "allocated", "installed")}
    return render(request, "procurement/contract_list.html", {"contracts": contracts})


@requires(roles.CONTRACTS)
def contract_create(request):
    counties = [c for c in counties_for(request.user)]
    models = list(services.visible_models(request.user).filter(active=True).select_related("lot"))
    vendors = sorted({m.vendor for m in models})
    form = ContractForm(request.POST or None, counties=counties, vendors=vendors)
    if request.method == "POST" and form.is_valid():
        lines = []
        for m in models:
            qty = (request.POST.get(f"qty_{m.pk}") or "").strip()
            if qty:
                lines.append({"model": m, "quantity": qty})  # the service checks it as typed
        try:
            require_in_scope(request.user, form.cleaned_data["county_code"])
            contract = services.create_contract(form.cleaned_data, lines, user=request.user)
            messages.success(request, f"已录入合同 {contract.contract_no}")
            return redirect("contract", contract_id=contract.pk)
        except ValidationError as error:
            for field, msgs in error.message_dict.items():
                for msg in msgs:
                    form.add_error(field if field in form.fields else None, msg)
    return render(request, "procurement/contract_form.html", {"form": form, "models": models,
                                                              "posted": request.POST})


@requires(roles.VIEW)
def contract_page(request, contract_id):
    contract = get_object_or_404(services.visible_contracts(request.user), pk=contract_id)
    if request.method == "POST" and has_perm(request.user, roles.CONTRACTS):
        try:
            services.set_contract_status(contract, request.POST.get("status", ""), user=request.user)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        return redirect("contract", contract_id=contract.pk)
    lines = list(contract.lines.select_related("model"))
    counts = services.line_counts(lines)
    for line in lines:
        line.counts = counts[line.pk]
    allocations = (Allocation.objects.filter(line__contract=contract).select_related("household", "household__village",
                                                                                     "line__model").order_by("-id"))
    page = Paginator(allocations, 50).get_page(request.GET.get("page"))
    return render(request, "procurement/contract.html", {"contract": contract, "lines": lines, "page": page,
                                                         "statuses": CountyContract.STATUS})


def _advice(request, household_no):
    household = scoped_household(request.user, household_no)
    try:
        return household, advisor.advise(household)
    except sizing.MissingData as missing:
        messages.error(request, str(missing))
        return household, None


@requires(roles.VIEW)
def advice_page(request, household_no):
    household, advice = _advice(request, household_no)
    current = household.allocations.filter(released_at__isnull=True).select_related("line__model", "line__contract").first()
    return render(request, "procurement/advice.html", {
        "household": household, "advice": advice, "current": current, "release_form": ReleaseForm(),
        "ancestors": household.village.ancestors() + [household.village],
        "catalog_warnings": services.catalog_warnings(request.user)})


@requires(roles.VIEW)
def advice_print(request, household_no):
    household, advice = _advice(request, household_no)
    return render(request, "procurement/advice_print.html", {"household": household, "advice": advice})


@require_POST
@requires(roles.ALLOCATE)
def allocate(request, household_no):
    household = scoped_household(request.user, household_no)
    line_id = request.POST.get("line", "")
    if not (line_id.isascii() and line_id.isdigit()):
        messages.error(request, "请选择要分配的合同明细")
        return redirect("advice", household_no=household.household_no)
    line = get_object_or_404(services.visible_lines(request.user), pk=line_id)
    try:
        services.allocate(household, line, user=request.user, channel=Channel.UI)
        messages.success(request, f"已分配：{line.model}（合同{line.contract.contract_no}）")
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    return redirect("advice", household_no=household.household_no)


@require_POST
@requires(roles.ALLOCATE)
def release(request, household_no, allocation_id):
    household = scoped_household(request.user, household_no)
    allocation = get_object_or_404(household.allocations, pk=allocation_id)
    try:
        services.release(allocation, reason=request.POST.get("reason", ""), user=request.user)
        messages.success(request, "已撤销分配")
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    return redirect("advice", household_no=household.household_no)


@requires(roles.CATALOG)
def sizing_page(request):
    prefix = user_prefix(request.user)
    if request.method == "POST":
        try:
            job = batch.start_job(request.user, request.POST.get("region", ""))
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
            return redirect("sizing")
        return redirect("job", job_id=job.pk)
    jobs = Job.objects.filter(kind="sizing", region_scope__startswith=prefix[:4]).select_related("user")
    return render(request, "procurement/sizing.html", {
        "counties": counties_for(request.user), "jobs": jobs[:20],
        "last": jobs.filter(status="done").order_by("-finished_at").first()})

