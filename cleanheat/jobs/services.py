"""Background jobs: imports, exports, sizing and entitlements run in a worker process; the page polls
their progress.

A job's run is a django.tasks task (run_job, below) carrying only the job's id and the run's token:
the queue (a database table by default, Redis for larger sites: settings.TASKS) keeps it across a
restart of the web server, and any worker process of any server may take it. The worker claims the
run on the job's row first, so a task delivered twice runs once. While it runs, the worker reports
a heartbeat; a job whose heartbeat stops (its worker was killed) is retried when its run is safe to
repeat, or else shown as failed with a message saying so (an import's write is one transaction:
nothing of it was written).

Progress and heartbeats live in Django's cache (file-based by default, shared by all server
processes on the machine), because the job's own database transaction is invisible to others until
it commits, and a database the import holds for writing (SQLite) would block them. The same
functions run in the foreground from the management commands.
"""
import json
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F
from django.tasks import task
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from cleanheat import pii
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
    """How far the job got; a job whose worker died is recovered first (see recover)."""
    recover(job)
    data = cache.get(progress_key(job.pk)) or {"stage": "", "step": 0, "steps": 0, "done": 0, "total": 0,
                                               "percent": 0}
    data["stage_label"] = STAGES.get(data["stage"], data["stage"])
    data["percent"] = 100 if job.status in FINISHED else min(data.get("percent", 0), RUNNING_MAX)
    # queued with no worker reporting: the page says so instead of waiting silently
    data["no_worker"] = (job.status == "queued" and not job.worker and not settings.CLEANHEAT_TASKS_SYNC
                         and not worker_alive())
    return data


def start(job, fn, *, retry_safe=False, **secret):
    """Queue fn(job, **secret) for a worker process (or run it inline when CLEANHEAT_TASKS_SYNC, as
    tests do). fn is a module-level function, named in the job's row; `secret` (a full
    search term) is kept encrypted on the row until the run ends, never in the queue. `retry_safe`:
    the run writes nothing, or everything in one transaction that replaces what an earlier run
    wrote, so a run whose worker died may simply run again. The progress of an earlier run of the
    same job (an import's check before its commit) is cleared; the job shows as queued until a
    worker takes it."""
    inline = getattr(settings, "CLEANHEAT_TASKS_SYNC", False)
    runner = f"{fn.__module__}.{fn.__qualname__}"
    if not inline and ("<" in runner or "." in fn.__qualname__):
        raise ValueError(f"a job runs a module-level function (the worker imports it by name), not {runner}")
    cache.delete(progress_key(job.pk))
    token = uuid.uuid4().hex
    fields = dict(runner=runner, run_token=token, worker="", claimed_at=None, attempts=0, retry_safe=retry_safe,
                  sealed=pii.encrypt(json.dumps(secret)) if secret else "", status="queued", finished_at=None)
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))
    if inline:
        run(str(job.pk), token, fn=fn)
    else:
        run_job.enqueue(str(job.pk), token)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def beat_key(job_id) -> str:
    return f"job-beat:{job_id}"


WORKER_BEAT_KEY = "jobs-worker-beat"


def run(job_id: str, token: str, fn=None) -> str:
    """A worker's run of a job: claimed on the job's row first (a run already claimed, or replaced
    by a later start, is skipped), with a heartbeat while it works. A failure is shown on the job
    page, not raised to the queue. What came of it: "done", "failed" or "skipped". `fn`: the
    function itself, when start() runs it inline (else the worker imports the job's runner)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, run_token=token, worker="").update(
        worker=worker_name(), claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        log.info("job %s run %s: already taken or replaced, skipped", job_id, token)
        return "skipped"
    job = Job.objects.get(pk=job_id)
    cache.set(beat_key(job_id), time.time(), PROGRESS_SECONDS)
    try:
        secret = json.loads(pii.decrypt(job.sealed)) if job.sealed else {}
        fn = fn or import_string(job.runner)
        with heartbeat(job_id):
            fn(job, **secret)
        outcome = "done"
    except Exception as exc:  # the job page must say what went wrong, not hang
        log.exception("job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(status="failed", message=mask_identifiers(f"处理出错：{exc}"),
                                             finished_at=timezone.now())
        outcome = "failed"
    finally:
        Job.objects.filter(pk=job_id, run_token=token).update(sealed="")
        cache.delete(beat_key(job_id))
    return outcome


@contextmanager
def heartbeat(job_id):
    """While the body runs, a thread of the worker notes in the cache every few seconds that it
    still does."""
    stop = threading.Event()

    def beat():
        while not stop.wait(settings.CLEANHEAT_JOB_HEARTBEAT_SECONDS):
            cache.set(beat_key(job_id), time.time(), PROGRESS_SECONDS)

    thread = threading.Thread(target=beat, daemon=True, name=f"beat-{job_id}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def lost(job) -> bool:
    """Whether a claimed, unfinished run has had no heartbeat for CLEANHEAT_JOB_STALE_SECONDS."""
    if not job.running or not job.worker or job.claimed_at is None:
        return False
    stale = settings.CLEANHEAT_JOB_STALE_SECONDS
    last = cache.get(beat_key(job.pk)) or job.claimed_at.timestamp()
    return time.time() - last > stale


DIED = ("处理该任务的后台进程已停止（超过{seconds}秒没有心跳），任务没有完成。")
DIED_WRITE = ("导入在一个事务中写入，不会只写入一部分：本次没有写入任何数据，请重新上传文件再确认导入。")
DIED_AGAIN = "已自动重试一次，仍未完成，请稍后重新开始或联系管理员。"


def recover(job) -> bool:
    """A job whose worker died: run again (once) when that is safe, else failed with a message
    saying what happened and what was written. True when it was found dead. The update names the
    run it saw, so of two pages noticing at once only one acts."""
    if not lost(job):
        return False
    seconds = int(settings.CLEANHEAT_JOB_STALE_SECONDS)
    if job.retry_safe and job.attempts < 2:
        token = uuid.uuid4().hex
        if Job.objects.filter(pk=job.pk, run_token=job.run_token).update(
                run_token=token, worker="", claimed_at=None, status="queued"):
            log.warning("job %s lost its worker %s; queued again", job.pk, job.worker)
            cache.delete(progress_key(job.pk))
            if getattr(settings, "CLEANHEAT_TASKS_SYNC", False):
                run(str(job.pk), token)
            else:
                            run_job.enqueue(str(job.pk), token)
    else:
        message = DIED.format(seconds=seconds) + (DIED_AGAIN if job.retry_safe else
                                                 DIED_WRITE if job.status == "committing" else "请重新开始。")
        if Job.objects.filter(pk=job.pk, run_token=job.run_token).update(
                status="failed", message=message, finished_at=timezone.now(), sealed=""):
            log.warning("job %s lost its worker %s; failed", job.pk, job.worker)
    job.refresh_from_db()
    return True


def recover_lost() -> int:
    """Every claimed, unfinished job whose worker died (a worker checks this as it starts and then
    now and then; the job page checks its own job)."""
    found = 0
    since = timezone.now() - timedelta(seconds=settings.CLEANHEAT_JOB_STALE_SECONDS)
    for job in Job.objects.filter(status__in=("queued", "running", "committing"), claimed_at__lt=since) \
            .exclude(worker=""):
        found += recover(job)
    return found


def worker_beat(worker: str) -> None:
    cache.set(WORKER_BEAT_KEY, {"worker": worker, "at": time.time()}, PROGRESS_SECONDS)


def worker_alive() -> bool:
    """Whether some worker process reported within CLEANHEAT_JOB_STALE_SECONDS."""
    beat = cache.get(WORKER_BEAT_KEY)
    return bool(beat) and time.time() - beat["at"] <= settings.CLEANHEAT_JOB_STALE_SECONDS


def counts() -> dict:
    """How many jobs stand in each status (every status named, 0 included), and how many of the
    queued ones no worker has claimed yet (`waiting`): the queue's depth, for /metrics."""
    found = dict(Job.objects.values_list("status").annotate(n=Count("pk")).order_by())
    result = {status: found.get(status, 0) for status, _label in Job.STATUSES}
    result["waiting"] = Job.objects.filter(status="queued", worker="").count()
    return result


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


@task()
def run_job(job_id: str, token: str) -> str:
    """The one task the queue carries: a job's run, by the job's id and the run's token (the job's
    row names the function; see start)."""
    return run(job_id, token)
