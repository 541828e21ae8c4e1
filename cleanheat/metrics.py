"""/metrics for Prometheus: requests and their latency by view, method and status (a middleware),
and the background-job queue read from the database at scrape time (a collector): jobs by status,
jobs waiting for a worker, failed jobs, whether a worker reported.

Built on prometheus_client (the Prometheus project's own client) rather than django-prometheus,
whose releases do not yet accept Django 6.1. Under gunicorn each worker process records into
PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py sets and empties it) and a scrape sums them all.

Not public: answered to the addresses in CLEANHEAT_METRICS_ALLOWED_IPS (addresses or networks,
default loopback; the client address as the audit log reads it, so behind nginx set
CLEANHEAT_CLIENT_IP_HEADER) or to `Authorization: Bearer <CLEANHEAT_METRICS_TOKEN>` when that is set."""
import hmac
import ipaddress
import os
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from cleanheat.audit.services import client_ip
from cleanheat.jobs import services as jobs

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}  # anything else is "other"
# Seconds; the pages' target is 300 ms at p95 and the API's 150 ms, so the buckets are fine below 1 s.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("cleanheat_http_requests", "HTTP requests answered, by view, method and status",
                   ["view", "method", "status"])
LATENCY = Histogram("cleanheat_http_request_duration_seconds", "Time to answer an HTTP request, by view and method",
                    ["view", "method"], buckets=LATENCY_BUCKETS)


def view_label(request) -> str:
    """The URL pattern's name, never the path (a path carries household numbers and is unbounded)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name  # the function's dotted path when the pattern has no name
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "<unresolved>"


class MetricsMiddleware:
    """Outermost, so the latency is the whole answer (every other middleware included)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view, method = view_label(request), request.method if request.method in METHODS else "other"
        LATENCY.labels(view, method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response


class JobsCollector:
    """Read at every scrape from the jobs' table through the jobs app's public counts()."""

    def describe(self):  # registering must not touch the database
        return []

    def collect(self):
        try:
            counts = jobs.counts()
        except DatabaseError:
            up = GaugeMetricFamily("cleanheat_jobs_readable", "Whether the jobs' table could be read")
            up.add_metric([], 0)
            yield up
            return
        waiting = counts.pop("waiting")
        depth = GaugeMetricFamily("cleanheat_job_queue_depth", "Jobs queued that no worker has claimed yet")
        depth.add_metric([], waiting)
        yield depth
        by_status = GaugeMetricFamily("cleanheat_jobs", "Jobs by status", labels=["status"])
        for status, n in counts.items():
            by_status.add_metric([status], n)
        yield by_status
        failed = CounterMetricFamily("cleanheat_jobs_failed", "Jobs that ended failed (jobs are never deleted)")
        failed.add_metric([], counts["failed"])
        yield failed
        worker = GaugeMetricFamily("cleanheat_job_worker_up", "Whether a job worker reported recently (heartbeat)")
        worker.add_metric([], 1 if jobs.worker_alive() else 0)
        yield worker


def allowed(request) -> bool:
    token = settings.CLEANHEAT_METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.CLEANHEAT_METRICS_ALLOWED_IPS)


def exposition() -> bytes:
    scrape = CollectorRegistry()
    scrape.register(JobsCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn: every worker's requests, summed
        multiprocess.MultiProcessCollector(scrape)
        return generate_latest(scrape)
    return generate_latest(REGISTRY) + generate_latest(scrape)


@login_not_required
@never_cache
@require_GET
def metrics(request):
    if not allowed(request):
        return HttpResponseForbidden("不允许从此地址读取监控指标 / metrics are not served to this address",
                                     content_type="text/plain; charset=utf-8")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
