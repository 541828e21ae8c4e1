"""Background jobs: imports, exports and sizing run in a worker thread; the page polls their progress.

Progress lives in Django's cache (file-based by default, shared by all server processes on the
machine), because the job's own database transaction is invisible to others until it commits.
The same functions run in the foreground from the management commands.
"""
import logging
import threading
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cleanheat.ledger.identity import mask_identifiers

from .models import Job

log = logging.getLogger(__name__)
STAGES = {"read": _("读取"), "validate": _("校验"), "write": _("写入")}
ALL_STAGES = ("read", "validate", "write")
RUNNING_MAX = 99  # a job still running never shows 100 %
PROGRESS_SECONDS = 3600  # how long a job's progress stays in the cache
FINISHED = ("previewed", "done", "refused", "failed")


def work_dir(kind: str) -> Path:
    path = Path(settings.DATA_DIR) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_key(job_id) -> str:
    return f"job-progress:{job_id}"


def reporter(job_id, stages=ALL_STAGES):
    """A progress callback for one run of a job through `stages`, in that order.

    What the page shows only moves forward: a stage reported after a later one (an import's
    commit reads and checks the file again before writing) counts within the later one, the
    percentage covers all the run's stages and never falls back, and stays below 100 until the
    job has finished."""
    shown = {"step": 0, "done": 0, "percent": 0}

    def report(stage, done, total):
        step = max(stages.index(stage) + 1 if stage in stages else 1, shown["step"])
        if step > shown["step"]:
            shown["done"] = 0
        share = 100 / len(stages)
        fraction = min(done / total, 1) if total else 1
        percent = min(max(int(share * (step - 1) + share * fraction), shown["percent"]), RUNNING_MAX)
        shown.update(step=step, done=max(done, shown["done"]) if stage == stages[step - 1] else shown["done"],
                     percent=percent)
        cache.set(progress_key(job_id), {"stage": stages[step - 1], "step": step, "steps": len(stages),
                                         "done": shown["done"], "total": total, "percent": percent},
                  PROGRESS_SECONDS)
    return report


def progress_of(job) -> dict:
    data = cache.get(progress_key(job.pk)) or {"stage": "", "step": 0, "steps": 0, "done": 0, "total": 0,
                                               "percent": 0}
    data["stage_label"] = STAGES.get(data["stage"], data["stage"])
    data["percent"] = 100 if job.status in FINISHED else min(data.get("percent", 0), RUNNING_MAX)
    return data


def start(job, fn):
    """Run fn(job) in the background (or inline when CLEANHEAT_TASKS_SYNC, as tests do); the
    progress of an earlier run of the same job (an import's check before its commit) is cleared."""
    cache.delete(progress_key(job.pk))
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


def save(job, **fields):
    """Messages and problems quote cells of the file: identifiers in them are kept masked (the
    downloadable problem report, like the upload itself, keeps the rows as they were)."""
    if "message" in fields:
        fields["message"] = mask_identifiers(fields["message"])
    if "problems" in fields:
        fields["problems"] = [mask_identifiers(p) for p in fields["problems"]]
    for k, v in fields.items():
        setattr(job, k, v)
    job.save(update_fields=list(fields))
