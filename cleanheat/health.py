"""/healthz for a load balancer or monitoring: whether the database answers and a background-job
worker reported within CLEANHEAT_JOB_STALE_SECONDS. Public (monitors do not log in), so it tells
only ok or not and how many jobs wait, nothing about any record."""
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cleanheat.jobs import services as jobs
from cleanheat.jobs.models import Job


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": "ok", "worker": "ok"}
    waiting = None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        waiting = Job.objects.filter(status="queued", worker="").count()
    except DatabaseError:
        checks["database"] = "error"
    if settings.CLEANHEAT_TASKS_SYNC:
        checks["worker"] = "inline"
    elif not jobs.worker_alive():
        checks["worker"] = "missing"
    healthy = checks["database"] == "ok" and checks["worker"] in ("ok", "inline")
    return JsonResponse({"status": "ok" if healthy else "error", **checks, "queued_jobs": waiting},
                        status=200 if healthy else 503)
