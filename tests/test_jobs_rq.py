"""CLEANHEAT_TASKS_BACKEND=rq: the same job, through the Redis queue (django-tasks-rq) and an RQ worker
process, as a larger site runs it. Real processes on a database file of their own and a Redis
database number of their own; skipped, saying why, where Redis does not answer on 127.0.0.1:6379."""
import os
import socket
import subprocess
import sys

import pytest

from .test_jobs_queue import ROOT, enqueue, manage, row

REDIS = ("127.0.0.1", 6379)
REDIS_URL = "redis://127.0.0.1:6379/11"   # a database number no other test uses
RQ = {"CLEANHEAT_TASKS_BACKEND": "rq", "CLEANHEAT_REDIS_URL": REDIS_URL}


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytest.importorskip("django_tasks_rq", reason="django-tasks-rq is not installed (requirements.lock has it)")
pytestmark = pytest.mark.skipif(not redis_answers(), reason="Redis does not answer on 127.0.0.1:6379 (the RQ queue "
                                                            "needs it; start redis-server to run this test)")


@pytest.fixture(scope="module")
def rq_db(tmp_path_factory, monkeypatch_module):
    db = tmp_path_factory.mktemp("rq") / "rq.sqlite3"
    result = manage(db, "migrate", "--no-input", "-v", "0")
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="module")
def monkeypatch_module():
    """The helpers of test_jobs_queue start processes with os.environ: here with the RQ queue."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in RQ.items():
            patch.setenv(name, value)
        yield patch


def test_a_job_queued_in_redis_by_a_process_that_is_gone_is_run_once_by_an_rq_worker(rq_db):
    job_id = enqueue(rq_db, "经 Redis 队列", "quick")           # the web process has exited
    assert row(rq_db, job_id)["status"] == "queued"
    worker = subprocess.run([sys.executable, "manage.py", "rqworker", "default", "--job-class", "django_tasks_rq.Job",
                             "--burst"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{rq_db}",
                                 "CLEANHEAT_DATA_DIR": str(rq_db.parent)})
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert "run_job" in worker.stdout + worker.stderr          # it was the RQ worker that ran it
    done = row(rq_db, job_id)
    assert done["status"] == "done" and done["attempts"] == 1, done
