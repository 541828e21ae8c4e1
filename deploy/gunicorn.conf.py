"""Gunicorn settings for CleanHeat: `gunicorn -c deploy/gunicorn.conf.py` (dev.py serve and
deploy/cleanheat-web.service use it). DJANGO_SETTINGS_MODULE comes from the caller
(cleanheat.settings_production in production).

Environment: CLEANHEAT_BIND (127.0.0.1:8000; several separated by commas), CLEANHEAT_WEB_WORKERS
(2 × cores + 1), CLEANHEAT_WEB_THREADS (1: plain sync workers), CLEANHEAT_WEB_TIMEOUT (120 s),
PROMETHEUS_MULTIPROC_DIR (DATA_DIR/prometheus)."""
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLEANHEAT_DATA_DIR", ROOT / "data"))
# Every worker process records its requests into files here and /metrics sums them (cleanheat/metrics.py).
# Set before any worker imports prometheus_client: the workers inherit the master's environment.
METRICS_DIR = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "prometheus")))

wsgi_app = "cleanheat.wsgi:application"
chdir = str(ROOT)
bind = os.environ.get("CLEANHEAT_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("CLEANHEAT_WEB_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("CLEANHEAT_WEB_THREADS", "1"))
# Long work (imports, exports, sizing) runs in the jobs worker, so a request over this is stuck.
timeout = int(os.environ.get("CLEANHEAT_WEB_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (a slow leak in any library cannot grow for ever).
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# nginx on the same machine sets X-Forwarded-Proto (settings_production trusts it for HTTPS).
forwarded_allow_ips = os.environ.get("CLEANHEAT_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def on_starting(server):
    """A previous run's per-process files would add its counts to this run's."""
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
