"""Background jobs through django.tasks and the database queue: a job waits in the queue until a
worker process takes it (a web restart loses nothing), a run delivered twice runs once, and a job
whose worker was killed is retried when that is safe or shown as failed with a clear message.

The in-process tests run the queue's worker loop in the test process against the test database;
the last tests run real processes (`manage.py shell` as the web process that enqueues and exits,
`manage.py jobs_worker` as the worker, killed with SIGKILL) on a database file of their own."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from cleanheat.audit.models import AuditEvent
from cleanheat.jobs import services
from cleanheat.jobs.models import Job

ROOT = Path(__file__).resolve().parent.parent


def work_off_queue():
    """What `manage.py jobs_worker --batch` does, every task in the queue and then stop, without
    its recycling of database connections (which would end the test's transaction)."""
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    while (task := DBTaskResult.objects.ready().filter(backend_name="default").first()) is not None:
        task.claim(worker.worker_id)
        worker.run_task(task)


@pytest.fixture
def queued(settings):
    settings.CLEANHEAT_TASKS_SYNC = False


def test_a_started_job_waits_in_the_queue_until_a_worker_runs_it_once_even_if_delivered_twice(
        admin_client, queued):
    response = admin_client.post("/procurement/sizing/", {"region": "140902000000"})
    job = Job.objects.get(kind="sizing")
    assert response.url == f"/jobs/{job.pk}/"
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    assert job.status == "queued" and "排队中" in page            # nothing ran in the web request
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [str(job.pk), job.run_token]
    # the same run delivered again (a queue may deliver twice): it is claimed once
    DBTaskResult.objects.create(args_kwargs=task.args_kwargs, task_path=task.task_path, queue_name="default",
                                backend_name="default", run_after=task.run_after)
    work_off_queue()
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 1, job.message
    assert AuditEvent.objects.filter(action="sizing", target=job.filename).count() == 1
    assert sorted(DBTaskResult.objects.values_list("return_value", flat=True)) == ["done", "skipped"]
    assert "已完成" in admin_client.get(f"/jobs/{job.pk}/").content.decode()


def test_an_export_keeps_its_search_term_encrypted_while_it_waits_and_forgets_it_after(admin_client, queued):
    response = admin_client.get("/households/export/", {"q": "140902199001011234"})
    job = Job.objects.get(kind="export_households")
    assert response.status_code == 302
    assert "140902199001011234" not in json.dumps(job.params) + job.sealed
    assert "140902199001011234" not in json.dumps(list(DBTaskResult.objects.values_list("args_kwargs", flat=True)))
    assert job.sealed  # the worker needs the full term to export what the list showed
    work_off_queue()
    job.refresh_from_db()
    assert job.status == "done" and job.sealed == ""


def claimed_by_dead_worker(job, *, status):
    """A job a worker took and then stopped reporting on (its process was killed)."""
    Job.objects.filter(pk=job.pk).update(status=status, worker="gone:1", run_token="a" * 32, attempts=1,
                                         claimed_at=timezone.now() - timedelta(minutes=5))
    job.refresh_from_db()


def test_an_import_whose_worker_died_while_writing_shows_failed_saying_nothing_was_written(admin_client, city_admin):
    job = Job.objects.create(kind="import", user=city_admin, region_scope="1409", filename="台账.xlsx")
    claimed_by_dead_worker(job, status="committing")
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "出错" in page and "后台进程已停止" in page and "没有写入任何数据" in page


def test_a_job_still_reporting_is_not_taken_for_dead(admin_client, city_admin):
    job = Job.objects.create(kind="import", user=city_admin, region_scope="1409", filename="台账.xlsx")
    claimed_by_dead_worker(job, status="committing")
    services.cache.set(services.beat_key(job.pk), time.time())  # its worker's heartbeat just now
    admin_client.get(f"/jobs/{job.pk}/")
    job.refresh_from_db()
    assert job.status == "committing"


def test_a_sizing_whose_worker_died_runs_again_once_then_fails(admin_client, city_admin, queued):
    admin_client.post("/procurement/sizing/", {"region": "140902000000"})
    job = Job.objects.get(kind="sizing")
    DBTaskResult.objects.all().delete()                      # the dead worker had taken its task
    claimed_by_dead_worker(job, status="running")
    admin_client.get(f"/jobs/{job.pk}/")                     # the page notices: queued again
    job.refresh_from_db()
    assert job.status == "queued" and job.worker == "" and DBTaskResult.objects.count() == 1
    Job.objects.filter(pk=job.pk).update(worker="gone:2", attempts=2, claimed_at=timezone.now() - timedelta(minutes=5))
    job.refresh_from_db()
    page = admin_client.get(f"/jobs/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.status == "failed" and "已自动重试一次" in page


# ---- real processes on a database file of their own

def manage(db, *args, env=None, **kwargs):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "CLEANHEAT_DATA_DIR": str(db.parent),
           "CLEANHEAT_JOB_HEARTBEAT_SECONDS": "0.3", "CLEANHEAT_JOB_STALE_SECONDS": "2", **(env or {})}
    env.pop("CLEANHEAT_TASKS_SYNC", None)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


def worker(db, *args):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "CLEANHEAT_DATA_DIR": str(db.parent),
           "CLEANHEAT_JOB_HEARTBEAT_SECONDS": "0.3", "CLEANHEAT_JOB_STALE_SECONDS": "2"}
    env.pop("CLEANHEAT_TASKS_SYNC", None)
    return subprocess.Popen([sys.executable, "manage.py", "jobs_worker", "--no-startup-delay", "--interval", "0.2",
                             *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


ENQUEUE = """
from cleanheat.accounts.models import User
from cleanheat.jobs import services
from cleanheat.jobs.models import Job
from tests import test_jobs_queue as runners
user = User.objects.get_or_create(username="q_city", defaults=dict(region_scope="1409", role="city_admin"))[0]
job = Job.objects.create(kind="sizing", user=user, region_scope="1409", filename="{name}")
services.start(job, runners.{runner}, retry_safe={safe})
print(job.pk)
"""


def slow_write(job):
    """A run that writes until its worker is killed (the test's stand-in for a long import)."""
    services.save(job, status="committing")
    time.sleep(60)


def quick(job):
    services.save(job, status="done", message="完成", finished_at=timezone.now())


def row(db, job_id):
    with sqlite3.connect(db) as conn:
        status, message, worker_name, attempts = conn.execute(
            "select status, message, worker, attempts from imports_job where id = ?", (job_id.replace("-", ""),)
        ).fetchone()
    return {"status": status, "message": message, "worker": worker_name, "attempts": attempts}


@pytest.fixture(scope="module")
def queue_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("queue") / "queue.sqlite3"
    result = manage(db, "migrate", "--no-input", "-v", "0")
    assert result.returncode == 0, result.stderr
    return db


def enqueue(db, name, runner, safe=False):
    result = manage(db, "shell", "-c", ENQUEUE.format(name=name, runner=runner, safe=safe))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def wait_for(check, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_a_job_queued_by_a_web_process_that_is_gone_is_run_by_a_worker_started_later(queue_db):
    job_id = enqueue(queue_db, "重启之后", "quick")               # the web process has exited
    assert row(queue_db, job_id)["status"] == "queued"
    result = subprocess.run([sys.executable, "manage.py", "jobs_worker", "--batch", "--no-startup-delay"], cwd=ROOT,
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{queue_db}",
                                 "CLEANHEAT_DATA_DIR": str(queue_db.parent)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert row(queue_db, job_id)["status"] == "done"


def test_a_killed_workers_import_shows_failed_and_its_safe_jobs_run_again(queue_db):
    writing = enqueue(queue_db, "写入中被终止", "slow_write")
    first = worker(queue_db)
    try:
        assert wait_for(lambda: row(queue_db, writing)["status"] == "committing"), first.stdout
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    safe = enqueue(queue_db, "可重试", "quick", safe=True)
    with sqlite3.connect(queue_db) as conn:                  # as if the dead worker had taken it too
        conn.execute("update imports_job set worker = 'gone:1', attempts = 1, status = 'running', "
                     "claimed_at = '2026-01-01 00:00:00' where id = ?", (safe.replace("-", ""),))
    time.sleep(2.5)                                          # no heartbeat for longer than the limit
    second = worker(queue_db)                                # a new worker finds both as it starts
    try:
        assert wait_for(lambda: row(queue_db, writing)["status"] == "failed"
                        and row(queue_db, safe)["status"] == "done"), (row(queue_db, writing), row(queue_db, safe))
    finally:
        second.terminate()
        second.wait(timeout=30)
    failed = row(queue_db, writing)
    assert "后台进程已停止" in failed["message"] and "没有写入任何数据" in failed["message"]
    assert row(queue_db, safe)["attempts"] == 2
