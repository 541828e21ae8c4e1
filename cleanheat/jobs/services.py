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

from cleanheat.ledger.identity import mask_identifiers

from .models import Job

log = logging.getLogger(__name__)
STAGES = {"read": "读取", "validate": "校验", "write": "写入"}
PROGRESS_SECONDS = 3600  # how long a job's progress stays in the cache
FINISHED = ("previewed", "done", "refused", "failed")


def work_dir(kind: str) -> Path:
    path = Path(settings.DATA_DIR) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def progress_key(job_id) -> str:
    return f"job-progress:{job_id}"


def reporter(job_id):
    def report(stage, done, total):
        cache.set(progress_key(job_id), {"stage": STAGES.get(stage, stage), "done": done, "total": total},
                  PROGRESS_SECONDS)
    return report


def progress_of(job) -> dict:
    data = cache.get(progress_key(job.pk)) or {"stage": "", "done": 0, "total": 0}
    data["percent"] = 100 if job.status in FINISHED else \
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
