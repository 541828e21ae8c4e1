"""The production server for real: gunicorn (deploy/gunicorn.conf.py, two workers) and the jobs
worker as separate processes with settings_production on a database file of their own; and the
refusals, naming the variable, when a secret or the database is not configured."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRETS = {"CLEANHEAT_SECRET_KEY": "test-secret-key-for-the-gunicorn-test-0123456789",
           "CLEANHEAT_PII_KEY": "test-pii-key-for-the-gunicorn-test", "CLEANHEAT_ALLOWED_HOSTS": "127.0.0.1"}
START_SECONDS = 60  # a loaded 2-core machine imports Django slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLEANHEAT_", "PROMETHEUS_"))}
    env.update(SECRETS, DJANGO_SETTINGS_MODULE="cleanheat.settings_production",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", CLEANHEAT_DATA_DIR=str(tmp_path),
               CLEANHEAT_STATIC_ROOT=str(tmp_path / "static"), **extra)
    return env


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the redirect itself is what a test looks at


OPENER = urllib.request.build_opener(NoRedirect)


def get(url, **headers):
    """(status, headers, body), a redirect or an error included."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_healthy(base, processes):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a server process exited while starting"
        try:
            status, _headers, body = get(f"{base}/healthz")
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"/healthz did not answer 200 within {START_SECONDS} s")


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = production_env(tmp_path, CLEANHEAT_BIND=f"127.0.0.1:{port}", CLEANHEAT_WEB_WORKERS="2")
    for step in (["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        subprocess.run([sys.executable, "manage.py", *step], cwd=ROOT, env=env, check=True)
    processes = [subprocess.Popen([str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                 subprocess.Popen([sys.executable, "manage.py", "jobs_worker", "--no-startup-delay"], cwd=ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        yield f"http://127.0.0.1:{port}", processes
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_gunicorn_serves_the_site_with_production_settings_and_the_worker_beside_it(server):
    base, processes = server
    health = wait_healthy(base, processes)
    assert health == {"status": "ok", "database": "ok", "worker": "ok", "queued_jobs": 0}
    # a page: HTTPS only (nginx says so in X-Forwarded-Proto), with production's security headers
    status, headers, _body = get(f"{base}/accounts/login/")
    assert status == 301 and headers["Location"].startswith("https://")
    status, headers, body = get(f"{base}/accounts/login/", **{"X-Forwarded-Proto": "https"})
    assert status == 200 and "max-age=31536000" in headers["Strict-Transport-Security"] and "登录".encode() in body
    # static files from collectstatic's folder, through whitenoise
    status, _headers, body = get(f"{base}/static/img/favicon.ico", **{"X-Forwarded-Proto": "https"})
    assert status == 200 and body
    # /metrics sums every gunicorn worker's requests (PROMETHEUS_MULTIPROC_DIR)
    for _ in range(6):
        get(f"{base}/healthz")
    status, _headers, body = get(f"{base}/metrics")
    text = body.decode()
    line = next(x for x in text.splitlines()
                if x.startswith("cleanheat_http_requests_total{") and 'view="healthz"' in x and 'status="200"' in x)
    assert status == 200 and float(line.split()[-1]) >= 7
    assert "cleanheat_job_worker_up 1.0" in text


def test_production_settings_refuse_to_start_naming_what_is_missing(tmp_path):
    for missing in ("CLEANHEAT_SECRET_KEY", "CLEANHEAT_PII_KEY", "DATABASE_URL"):
        env = production_env(tmp_path)
        del env[missing]
        run = subprocess.run([sys.executable, "manage.py", "check"], check=False, cwd=ROOT, env=env, capture_output=True,
                             text=True)
        assert run.returncode != 0 and f"{missing} must be set in production" in run.stderr


def test_dev_serve_refuses_before_installing_anything_without_its_settings(tmp_path):
    env = production_env(tmp_path)
    del env["CLEANHEAT_PII_KEY"]
    run = subprocess.run([sys.executable, "dev.py", "serve"], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "CLEANHEAT_PII_KEY" in run.stderr and "创建虚拟环境" not in run.stdout
    run = subprocess.run([sys.executable, "dev.py", "serve"], check=False, cwd=ROOT, env=production_env(tmp_path),
                         capture_output=True, text=True, timeout=60)  # SQLite
    assert run.returncode != 0 and "DATABASE_URL must be postgres://" in run.stderr
