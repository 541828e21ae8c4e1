"""/healthz: the database and the background-job worker's heartbeat, for monitors (no login)."""
import pytest

from cleanheat.jobs import services

pytestmark = pytest.mark.django_db


def test_healthy_when_the_database_answers_and_a_worker_reported(client, settings):
    settings.CLEANHEAT_TASKS_SYNC = False
    services.worker_beat("test:1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "ok", "queued_jobs": 0}


def test_unhealthy_without_a_worker_heartbeat(client, settings):
    settings.CLEANHEAT_TASKS_SYNC = False
    services.cache.delete(services.WORKER_BEAT_KEY)  # locmem: another test's worker may have reported
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["worker"] == "missing"


def test_a_stale_worker_heartbeat_counts_as_missing(client, settings):
    settings.CLEANHEAT_TASKS_SYNC = False
    services.worker_beat("test:1")
    settings.CLEANHEAT_JOB_STALE_SECONDS = -1  # the last report is older than the limit
    assert client.get("/healthz").status_code == 503


def test_healthz_answers_get_only_and_says_nothing_else(client, settings):
    settings.CLEANHEAT_TASKS_SYNC = True
    assert client.post("/healthz").status_code == 405
    assert set(client.get("/healthz").json()) == {"status", "database", "worker", "queued_jobs"}
