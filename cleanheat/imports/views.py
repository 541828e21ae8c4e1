import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cleanheat.access import has_perm, in_scope, requires, scope_filter, user_prefix
from cleanheat.filenames import stamped
from cleanheat.accounts.roles import EXPORT, IMPORT, MANAGE_USERS, VIEW
from cleanheat.audit.services import record
from cleanheat.jobs.models import Job
from cleanheat.jobs.services import progress_of, start
from cleanheat.ledger import search
from cleanheat.ledger.identity import mask_identifiers
from cleanheat.ledger.views import FILTERS
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import jobs, xlsx

ALLOWED = {".xlsx", ".xlsm", ".xls", ".ods"}


def visible_jobs(user):
    """A user's own jobs, and for administrators those of users inside their scope."""
    mine = Q(user=user)
    if has_perm(user, MANAGE_USERS):
        mine |= Q(region_scope__startswith=user_prefix(user))
    return Job.objects.filter(mine).select_related("user")


def _job(request, job_id):
    return get_object_or_404(visible_jobs(request.user), pk=job_id)


@requires(IMPORT)
def import_page(request):
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            messages.error(request, "请选择要上传的 Excel 文件")
        elif Path(uploaded.name).suffix.lower() not in ALLOWED:
            messages.error(request, f"“{uploaded.name}”不是 Excel 文件，请上传 .xlsx 或 .xls 文件")
        elif uploaded.size > settings.CLEANHEAT_MAX_UPLOAD_BYTES:
            messages.error(request, f"文件超过{settings.CLEANHEAT_MAX_UPLOAD_BYTES // (1024 * 1024)}MB，请按乡镇拆分后分别上传")
        else:
            job = jobs.new_import(request.user, uploaded, scope=user_prefix(request.user))
            start(job, jobs.analyse_job, retry_safe=True)
            return redirect("job", job_id=job.pk)
    return render(request, "imports/import.html", {
        "jobs": visible_jobs(request.user).filter(kind="import")[:30]})


@requires(VIEW)
def job_page(request, job_id):
    job = _job(request, job_id)
    return render(request, "imports/job.html", {"job": job, "progress": progress_of(job)})


@requires(VIEW)
def job_progress(request, job_id):
    job = _job(request, job_id)
    response = render(request, "imports/_progress.html", {"job": job, "progress": progress_of(job)})
    if not job.running:
        response["HX-Refresh"] = "true"  # finished: show the full result page
    return response


@require_POST
@requires(IMPORT)
def job_commit(request, job_id):
    job = _job(request, job_id)
    if job.kind != "import" or job.status != "previewed" or job.user_id != request.user.pk:
        messages.error(request, "该任务当前不能确认导入")
        return redirect("job", job_id=job.pk)
    if job.preview.get("blocked"):
        messages.error(request, "表中缺少新建档必填的列，请先为整个文件选择一个值")
        return redirect("job", job_id=job.pk)
    job.valid_only = request.POST.get("mode") == "valid_only"
    job.save(update_fields=["valid_only"])
    start(job, jobs.commit_job)
    return redirect("job", job_id=job.pk)


@require_POST
@requires(IMPORT)
def job_defaults(request, job_id):
    """Values for the columns the whole file lacks (原取暖设施 …): the dry run runs again with them."""
    job = _job(request, job_id)
    if job.kind != "import" or job.status != "previewed" or job.user_id != request.user.pk:
        messages.error(request, "该任务当前不能修改整表默认值")
        return redirect("job", job_id=job.pk)
    asked = [q["field"] for q in job.preview.get("questions", [])]
    try:
        jobs.pick_defaults(job, {f: request.POST.get(f"default_{f}", "") for f in asked})
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("job", job_id=job.pk)
    start(job, jobs.analyse_job, retry_safe=True)
    return redirect("job", job_id=job.pk)


@requires(VIEW)
def job_download(request, job_id, what):
    job = _job(request, job_id)
    path = {"report": job.report_path, "result": job.result_path}.get(what)
    if not path or not Path(path).exists():
        raise Http404("文件不存在")
    name = stamped(f"问题清单-{Path(job.filename).stem}", region_name(job.region_scope), job.created_at) \
        if what == "report" else stamped(str(job.get_kind_display()), _place(job), job.created_at)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=name)


def region_name(code: str) -> str:
    """The name of a region given by its code or prefix; the city for an empty (city-wide) one."""
    code = code if code.isascii() and code.isdigit() and len(code) <= 12 else ""
    region = Region.objects.filter(code=codes.full_code(code)).first() if code else \
        Region.objects.filter(level=codes.CITY).order_by("code").first()
    return region.name if region else "全部"


def _place(job) -> str:
    """What an export covers: the region it was filtered to (if it is one, in the user's area), else
    the user's area."""
    chosen = str(job.params.get("region") or "")
    if chosen and in_scope(job.user, codes.full_code(chosen)) \
            and Region.objects.filter(code=codes.full_code(chosen)).exists():
        return region_name(chosen)
    return region_name(job.region_scope)


@requires(IMPORT)
def template_download(request):
    """The standard template with the scope's townships and villages as a list."""
    prefix = user_prefix(request.user)
    names = dict(Region.objects.filter(level__in=(codes.COUNTY, codes.TOWNSHIP)).values_list("code", "name"))
    villages = [(names.get(codes.full_code(v.code[:6]), ""), names.get(codes.full_code(v.code[:9]), ""), v.name, v.code)
                for v in scope_filter(Region.objects.filter(level=codes.VILLAGE), request.user, "code").order_by("code")]
    tmp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    tmp.close()
    xlsx.write_template(tmp.name, villages)
    return FileResponse(open(tmp.name, "rb"), as_attachment=True, filename=stamped("清洁取暖台账模板", region_name(prefix)))


@requires(EXPORT)
def export_households(request):
    """The job's params and the audit event keep the search term masked; the job itself gets the
    full term (encrypted on its row until it has run), so it still exports exactly the households
    the list showed."""
    try:
        filters = search.filters(request, request.GET, FILTERS)
    except search.SearchExpired as expired:
        messages.error(request, str(expired))
        return redirect("households")
    filters["archived"] = request.GET.get("archived") == "1"
    params = {**filters, "q": mask_identifiers(filters["q"])}
    job = Job.objects.create(kind="export_households", user=request.user, region_scope=user_prefix(request.user),
                             params=params)
    record("export", request=request, region_code=user_prefix(request.user), target="居民用户清单",
           detail=str({k: v for k, v in params.items() if v}))
    start(job, jobs.export_job, retry_safe=True, filters=filters)
    return redirect("job", job_id=job.pk)


@requires(EXPORT)
def export_rollup(request, code):
    region = get_object_or_404(scope_filter(Region.objects.all(), request.user, "code"), code=code)
    year = request.GET.get("year", "")
    job = Job.objects.create(kind="export_rollup", user=request.user, region_scope=user_prefix(request.user),
                             params={"region": region.code, "year": int(year) if year.isdigit() else None})
    record("export", request=request, region_code=region.code, target=f"五级汇总：{region.name}")
    start(job, jobs.export_job, retry_safe=True)
    return redirect("job", job_id=job.pk)
