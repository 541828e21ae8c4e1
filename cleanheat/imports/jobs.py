"""The import and export jobs: what runs in the background (see cleanheat.jobs for how)."""
import uuid
from pathlib import Path

from django.utils import timezone

from cleanheat.audit.services import record
from cleanheat.jobs.models import Job
from cleanheat.jobs.services import reporter, save, work_dir
from cleanheat.ledger.queries import household_queryset
from cleanheat.regions.models import Region

from . import defaults, exports, ledger_import, xlsx


NOTES_SHOWN = 50


def analyse_job(job):
    """The dry run, with the values picked for the whole file so far (job.params["defaults"])."""
    save(job, status="running")
    result = ledger_import.analyse(job.stored_path, user=job.user, filename=job.filename,
                                   progress=reporter(job.pk, stages=("read", "validate")),
                                   defaults=job.params.get("defaults"))
    report = ""
    if result.counts["refused"] or result.noted:
        report = str(work_dir("reports") / f"{job.pk}-问题清单.xlsx")
        xlsx.write_error_report(report, result)
    save(job, status="previewed", counts=result.counts, problems=result.problems(limit=NOTES_SHOWN),
          ignored_columns=result.ignored, report_path=report, preview=preview_of(result))


def preview_of(result) -> dict:
    return {"questions": [q.as_dict() for q in result.questions], "notices": result.notices(),
            "notes": result.notes(limit=NOTES_SHOWN), "noted": result.noted,
            "matched": result.matched, "matches": result.matches(limit=NOTES_SHOWN),
            "blocked": bool(result.open_questions)}


def pick_defaults(job, given: dict) -> None:
    """The values a clerk picked for columns the whole file lacks; the dry run runs again with them.
    ValueError (Chinese) for a value that is not one of the field's."""
    job.params = dict(job.params, defaults=defaults.parse(given))
    save(job, params=job.params, status="queued")


def commit_job(job):
    save(job, status="committing")
    progress = reporter(job.pk)
    result = ledger_import.analyse(job.stored_path, user=job.user, filename=job.filename, progress=progress,
                                   record_attempts=False,  # recorded when the file was first analysed
                                   defaults=job.params.get("defaults"))
    try:
        counts = ledger_import.commit(result, user=job.user, valid_only=job.valid_only, progress=progress)
    except ledger_import.ImportRefused as refused:
        save(job, status="refused", counts=result.counts, message=str(refused), finished_at=timezone.now())
        return
    written = counts["new"] + counts["updated"]
    save(job, status="done", counts=counts, finished_at=timezone.now(),
          message=f"已写入{written}户（新增{counts['new']}，更新{counts['updated']}，未变{counts['unchanged']}，"
                  f"未导入{counts['refused'] if job.valid_only else 0}）")
    record("import", user=job.user, region_code=job.region_scope, target=job.filename,
           detail=f"任务{job.pk}；{job.message}；有效行模式={'是' if job.valid_only else '否'}")


def export_job(job, filters=None):
    """`filters` (the household list's, with the full search term) come from the starting request,
    sealed on the job's row while it waits (jobs.services.start); its params keep only the masked
    ones."""
    save(job, status="running")
    path = work_dir("exports") / f"{job.pk}.xlsx"
    if job.kind == "export_households":
        qs = household_queryset(job.user, **(filters if filters is not None else job.params))
        n = exports.export_households(path, qs, user=job.user, progress=reporter(job.pk, stages=("write",)))
    else:
        region = Region.objects.get(code=job.params["region"])
        n = exports.export_rollup(path, region, user=job.user, year=job.params.get("year"),
                                  progress=reporter(job.pk, stages=("write",)))
    save(job, status="done", result_path=str(path), counts={"rows": n}, finished_at=timezone.now(),
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
