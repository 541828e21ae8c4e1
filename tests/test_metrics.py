"""/metrics for Prometheus: request counts and latency by view, the background-job queue read at
scrape time, and who may read it (allowed addresses, or a token)."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cleanheat.jobs import services
from cleanheat.jobs.models import Job

from .test_jobs_queue import work_off_queue

pytestmark = pytest.mark.django_db
OUTSIDE = "203.0.113.9"  # a documentation address, never in the allowed list


def scrape(client, **extra) -> dict:
    """{(sample name, frozenset of labels): value} of one scrape."""
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


def sample(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def fails(job):
    raise RuntimeError("测试：任务出错")


def test_metrics_count_each_request_by_view_method_and_status_with_its_latency(client, settings):
    settings.CLEANHEAT_TASKS_SYNC = True
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.post("/healthz")  # 405
    after = scrape(client)
    ok = {"view": "healthz", "method": "GET", "status": "200"}
    assert sample(after, "cleanheat_http_requests_total", **ok) - sample(before, "cleanheat_http_requests_total", **ok) == 2
    refused = {"view": "healthz", "method": "POST", "status": "405"}
    assert (sample(after, "cleanheat_http_requests_total", **refused)
            - sample(before, "cleanheat_http_requests_total", **refused)) == 1
    timed = {"view": "healthz", "method": "GET"}
    assert (sample(after, "cleanheat_http_request_duration_seconds_count", **timed)
            - sample(before, "cleanheat_http_request_duration_seconds_count", **timed)) == 2
    assert sample(after, "cleanheat_http_request_duration_seconds_sum", **timed) > 0


def test_a_household_page_is_labelled_by_its_view_never_by_its_path(admin_client):
    admin_client.get("/households/NO-SUCH-HOUSEHOLD/")
    text = admin_client.get("/metrics").content.decode()
    assert 'view="household"' in text and "NO-SUCH-HOUSEHOLD" not in text


def test_the_queue_gauge_follows_jobs_enqueued_and_taken_by_a_worker(admin_client, settings):
    settings.CLEANHEAT_TASKS_SYNC = False
    assert sample(scrape(admin_client), "cleanheat_job_queue_depth") == 0
    admin_client.post("/procurement/sizing/", {"region": "140902000000"})
    admin_client.post("/procurement/sizing/", {"region": "140981000000"})
    queued = scrape(admin_client)
    assert sample(queued, "cleanheat_job_queue_depth") == 2
    assert sample(queued, "cleanheat_jobs", status="queued") == 2
    assert sample(queued, "cleanheat_job_worker_up") == 0  # no worker reported in this test
    work_off_queue()
    services.worker_beat("test:1")
    worked = scrape(admin_client)
    assert sample(worked, "cleanheat_job_queue_depth") == 0
    assert sample(worked, "cleanheat_jobs", status="done") == 2
    assert sample(worked, "cleanheat_job_worker_up") == 1


def test_failed_jobs_are_counted(admin_client, city_admin, settings):
    settings.CLEANHEAT_TASKS_SYNC = True
    before = sample(scrape(admin_client), "cleanheat_jobs_failed_total")
    job = Job.objects.create(kind="sizing", user=city_admin, region_scope="1409")
    services.start(job, fails)
    job.refresh_from_db()
    assert job.status == "failed"
    assert sample(scrape(admin_client), "cleanheat_jobs_failed_total") == before + 1


def test_an_address_not_allowed_is_refused_without_a_word_of_the_figures(client, settings):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403 and b"cleanheat_" not in response.content
    settings.CLEANHEAT_METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback is no longer in the list


def test_behind_a_proxy_the_address_it_reports_is_judged_not_the_proxys(client, settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=OUTSIDE).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="127.0.0.1").status_code == 200


def test_the_metrics_token_opens_it_from_anywhere_and_a_wrong_one_does_not(client, settings):
    settings.CLEANHEAT_METRICS_TOKEN = "metrics-secret-1234567890"
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE,
                      HTTP_AUTHORIZATION="Bearer metrics-secret-1234567890").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403
    assert client.post("/metrics").status_code == 405
