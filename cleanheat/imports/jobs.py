"""Background jobs: imports and exports run in a worker thread; the page polls their progress.

Progress lives in Django's cache (file-based by default, shared by all server processes on the
machine), because the job's own database transaction is invisible to others until it commits.
The same functions run in the foreground from the management commands.
"""
import logging
import threading
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils import timezone

from cleanheat.audit.services import record
from cleanheat.ledger.identity import mask_identifiers

from . import exports, ledger_import, xlsx
from .models import Job

log = logging.getLogger(__name__)
STAGES = {"read": "读取", "validate": "校验", "write": "写入"}


def work_dir(kind: str) -> Path:
    path = Path(settings.DATA_DIR) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_key(job_id) -> str:
    return f"job-progress:{job_id}"


def reporter(job_id):
    def report(stage, done, total):
        cache.set(progress_key(job_id), {"stage": STAGES.get(stage, stage), "done": done, "total": total}, 3600)
    return report


def progress_of(job) -> dict:
    data = cache.get(progress_key(job.pk)) or {"stage": "", "done": 0, "total": 0}
    data["percent"] = 100 if job.status in ("previewed", "done", "refused", "failed") else \
        int(100 * data["done"] / data["total"]) if data["total"] else 0
    return data


def start(job, fn):
    """Run fn(job) in the background (or inline when CLEANHEAT_TASKS_SYNC, as tests do)."""
    def run():
        try:
            fn(job)
        except Exception as exc:  # the job page must say what went wrong, not hang
            log.exception("job %s failed", job.pk)
            Job.objects.filter(pk=job.pk).update(status="failed", message=mask_identifiers(f"处理出错：{exc}"),
                                                 finished_at=timezone.now())
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()
    if getattr(settings, "CLEANHEAT_TASKS_SYNC", False):
        run()
    else:
        close_old_connections()
        threading.Thread(target=run, daemon=True, name=f"job-{job.pk}").start()


def _save(job, **fields):
    """Messages and problems quote cells of the file: identifiers in them are kept masked (the
    downloadable problem report, like the upload itself, keeps the rows as they were)."""
    if "message" in fields:
        fields["message"] = mask_identifiers(fields["message"])
    if "problems" in fields:
        fields["problems"] = [mask_identifiers(p) for p in fields["problems"]]
    for k, v in fields.items():
        setattr(job, k, v)
    job.save(update_fields=list(fields))


def analyse_job(job):
    _save(job, status="running")
    result = ledger_import.analyse(job.stored_path, user=job.user, filename=job.filename, progress=reporter(job.pk))
    report = ""
    if result.counts["refused"]:
        report = str(work_dir("reports") / f"{job.pk}-问题清单.xlsx")
        xlsx.write_error_report(report, result)
    _save(job, status="previewed", counts=result.counts, problems=result.problems(limit=50),
          ignored_columns=result.ignored, report_path=report)


def commit_job(job):
    _save(job, status="committing")
    progress = reporter(job.pk)
    result = ledger_import.analyse(job.stored_path, user=job.user, filename=job.filename, progress=progress,
                                   record_attempts=False)  # recorded when the file was first analysed
    try:
        counts = ledger_import.commit(result, user=job.user, valid_only=job.valid_only, progress=progress)
    except ledger_import.ImportRefused as refused:
        _save(job, status="refused", counts=result.counts, message=str(refused), finished_at=timezone.now())
        return
    written = counts["new"] + counts["updated"]
    _save(job, status="done", counts=counts, finished_at=timezone.now(),
          message=f"已写入{written}户（新增{counts['new']}，更新{counts['updated']}，未变{counts['unchanged']}，"
                  f"未导入{counts['refused'] if job.valid_only else 0}）")
    record("import", user=job.user, region_code=job.region_scope, target=job.filename,
           detail=f"任务{job.pk}；{job.message}；有效行模式={'是' if job.valid_only else '否'}")


def export_job(job, filters=None):
    """`filters` (the household list's, with the full search term) come from the starting request
    in memory; the job row keeps only the masked ones."""
    from cleanheat.ledger.queries import household_queryset
    from cleanheat.regions.models import Region

    _save(job, status="running")
    path = work_dir("exports") / f"{job.pk}.xlsx"
    if job.kind == "export_households":
        qs = household_queryset(job.user, **(filters if filters is not None else job.params))
        n = exports.export_households(path, qs, user=job.user, progress=reporter(job.pk))
    else:
        region = Region.objects.get(code=job.params["region"])
        n = exports.export_rollup(path, region, user=job.user, progress=reporter(job.pk))
    _save(job, status="done", result_path=str(path), counts={"rows": n}, finished_at=timezone.now(),
          message=f"已导出{n}行")


def new_import(user, uploaded, *, scope: str) -> Job:
    job = Job(kind="import", user=user, region_scope=scope, filename=Path(uploaded.name).name[:200])
    suffix = Path(uploaded.name).suffix.lower() or ".xlsx"
    path = work_dir("uploads") / f"{uuid.uuid4()}{suffix}"
    with open(path, "wb") as fh:
        for chunk in uploaded.chunks():
            fh.write(chunk)
    job.stored_path = str(path)
    job.save()
    return job
