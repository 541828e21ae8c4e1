"""Load: county clerks at once on the production server, over PostgreSQL with the full demo.

gunicorn (deploy/gunicorn.conf.py, settings_production) serves a PostgreSQL database holding the
whole demo (212,549 + 2,250 households; loaded once, kept between runs). Each simulated clerk
(`--users`, default 50, spread over Xinzhou's 15 counties; a user of their own with an API token)
logs in and then, for `--seconds`, opens one of: the household list (a page of their county), a
search by a householder's name, a household's page, the API's household list (Bearer token) and
their county's dashboard, thinking `--think` seconds (± 50 %) between requests, as a person does.
Requests go to 127.0.0.1 only, as nginx would send them (X-Forwarded-Proto: https).

Printed per endpoint: requests, errors (any answer but 200, or no answer), throughput, p50/p95/p99
and the target (p95 ≤ 300 ms for pages, ≤ 150 ms for API reads); the baseline in the same run is one
clerk alone (each endpoint `--baseline` times in turn, the server otherwise idle), and the ratio
of the loaded p50 to it. The first `--warmup` seconds of the load are not counted (caches fill).

A bounded stdlib client (threads and http.client) stands in for locust: nothing to install, and
it stops on its own. The machine's load average is printed before and after (the client shares it).

    .venv/bin/python benchmarks/bench_load.py                     # database cleanheat_load on 127.0.0.1
    .venv/bin/python benchmarks/bench_load.py --users 50 --seconds 90 --web-workers 5
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

from full_demo import open_full_demo

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Load@Bench2026"
HOST = "127.0.0.1"
TARGETS = {"page": 0.300, "api": 0.150}  # p95, seconds
# endpoint: (kind, weight in a clerk's mix)
ENDPOINTS = {"household list": ("page", 3), "search by name": ("page", 2), "household page": ("page", 3),
             "API list (Bearer)": ("api", 2), "dashboard": ("page", 1)}
SAMPLES_PER_COUNTY = 300
LIST_PAGES = 20
WARM_ROUNDS = 3  # uncounted rounds of the baseline's clerk before it is timed  # clerks page through the first pages of their county's list
# settings_production needs its secrets; the PII key must be the one the demo was loaded with.
SERVER_ENV = {"DJANGO_SETTINGS_MODULE": "cleanheat.settings_production",
              "CLEANHEAT_SECRET_KEY": "bench-load-secret-key-not-for-production-0123456789",
              "CLEANHEAT_PII_KEY": os.environ.get("CLEANHEAT_PII_KEY", "demo-only-pii-key-change-me-in-production"),
              "CLEANHEAT_ALLOWED_HOSTS": HOST}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="cleanheat_load", help="PostgreSQL database on 127.0.0.1:5432")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a clerk's requests")
    parser.add_argument("--web-workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--baseline", type=int, default=10, help="times each endpoint runs for one clerk alone")
    args = parser.parse_args()
    args.db, args.reuse = str(ROOT / "data" / "unused.sqlite3"), True  # full_demo's SQLite options, unused here
    return args


def prepare(args) -> list[dict]:
    """Load the demo if the database is empty; one clerk per user with a token and households to open."""
    os.environ["DATABASE_URL"] = f"postgres://postgres@{HOST}:5432/{args.database}"
    open_full_demo(args)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from cleanheat.accounts import tokens
    from cleanheat.ledger.models import Household
    from cleanheat.regions.models import Region
    User = get_user_model()
    counties = [r.code[:6] for r in Region.objects.filter(code__regex=r"^1409[0-9]{2}000000$").exclude(
        code="140900000000").order_by("code")]
    manager = User.objects.filter(role="city_admin", is_active=True).order_by("pk").first()
    samples = {c: list(Household.objects.filter(village__code__startswith=c, archived=False).order_by("?")
                       .values_list("household_no", "householder_name")[:SAMPLES_PER_COUNTY]) for c in counties}
    clerks = []
    for i in range(args.users):
        county = counties[i % len(counties)]
        user, _ = User.objects.get_or_create(username=f"load_clerk_{i:02d}", defaults={
            "region_scope": county, "role": "county_clerk", "full_name": f"负载测试业务员{i:02d}"})
        user.region_scope, user.role, user.must_change_password, user.is_active = county, "county_clerk", False, True
        user.set_password(PASSWORD)
        user.save()
        _row, token = tokens.issue(manager, user, "负载测试 bench_load", 1)
        clerks.append({"username": user.username, "county": county, "token": token, "households": samples[county]})
    connection.close()
    return clerks


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(args, data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, **SERVER_ENV, "CLEANHEAT_DATA_DIR": str(data_dir),
           "CLEANHEAT_STATIC_ROOT": str(data_dir / "static"), "CLEANHEAT_BIND": f"{HOST}:{port}",
           "CLEANHEAT_WEB_WORKERS": str(args.web_workers)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                               "--access-logfile", "/dev/null"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            _status, body, _ = call(port, "GET", "/healthz")
            if json.loads(body).get("database") == "ok":  # 503 only for the jobs worker, which reads need not
                return server
        except (OSError, ValueError):
            time.sleep(0.5)
    server.kill()
    sys.exit("gunicorn did not answer /healthz within 90 s")


def call(port, method, path, *, body=None, headers=None, cookies=None):
    """One request on its own connection (gunicorn's sync workers close it after each answer)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    sent = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        if cookies is not None:
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    cookies[name] = rest.split(";", 1)[0]
        return response.status, data, response
    finally:
        conn.close()


class Clerk:
    def __init__(self, port, clerk):
        self.port, self.clerk, self.cookies = port, clerk, {}
        self.rng = random.Random(clerk["username"])

    def login(self):
        status, page, _ = call(self.port, "GET", "/accounts/login/", cookies=self.cookies)
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        form = f"csrfmiddlewaretoken={csrf}&username={self.clerk['username']}&password={quote(PASSWORD)}&next=/"
        status, _, response = call(self.port, "POST", "/accounts/login/", body=form, cookies=self.cookies,
                                   headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "Origin": f"https://{HOST}", "Referer": f"https://{HOST}/accounts/login/"})
        if status != 302 or "login" in response.getheader("Location", ""):
            raise RuntimeError(f"{self.clerk['username']} could not log in ({status})")

    def path_for(self, endpoint) -> tuple[str, dict]:
        number, name = self.rng.choice(self.clerk["households"])
        page = self.rng.randint(1, LIST_PAGES)
        if endpoint == "household list":
            return f"/households/?page={page}", {}
        if endpoint == "search by name":
            return f"/households/?q={quote(name)}", {}
        if endpoint == "household page":
            return f"/households/{number}/", {}
        if endpoint == "API list (Bearer)":
            return f"/api/households?page={page}", {"Authorization": f"Bearer {self.clerk['token']}"}
        return f"/dashboard/{self.clerk['county'].ljust(12, '0')}/", {}

    def hit(self, endpoint) -> tuple[float, bool]:
        path, headers = self.path_for(endpoint)
        started = time.perf_counter()
        try:
            status, _, _ = call(self.port, "GET", path, headers=headers,
                                cookies=None if headers else self.cookies)
            ok = status == 200
        except OSError:
            ok = False
        return time.perf_counter() - started, ok


def baseline(port, clerk, times) -> dict:
    """One clerk alone: each endpoint in turn, `times` times; the median of each."""
    alone = Clerk(port, clerk)
    alone.login()
    for _ in range(WARM_ROUNDS):  # every gunicorn worker imports its views and fills its caches first
        for endpoint in ENDPOINTS:
            alone.hit(endpoint)
    timings = defaultdict(list)
    for _ in range(times):
        for endpoint in ENDPOINTS:
            timings[endpoint].append(alone.hit(endpoint)[0])
    return {e: statistics.median(t) for e, t in timings.items()}


def load(port, clerks, args) -> tuple[dict, float]:
    """Every clerk in a thread of their own; (endpoint → [(seconds, ok)] counted after warm-up, seconds counted)."""
    results, lock = defaultdict(list), threading.Lock()
    names, weights = list(ENDPOINTS), [w for _k, w in ENDPOINTS.values()]
    # Everyone logs in before the clock starts: 50 password hashes (PBKDF2, CPU-bound by design)
    # in the same seconds would hold the workers and are not what a working day looks like.
    logged_in, failed_logins, window = threading.Barrier(len(clerks) + 1), [], {}

    def run(clerk):
        person = Clerk(port, clerk)
        try:
            person.login()
        except (RuntimeError, OSError, AttributeError) as e:
            failed_logins.append(str(e))
            return
        finally:
            logged_in.wait()
        time.sleep(person.rng.uniform(0, args.think))  # clerks do not all start in the same instant
        count_from, stop_at = window["count_from"], window["stop_at"]
        while (now := time.monotonic()) < stop_at:
            endpoint = person.rng.choices(names, weights)[0]
            seconds, ok = person.hit(endpoint)
            if now >= count_from:
                with lock:
                    results[endpoint].append((seconds, ok))
            time.sleep(person.rng.uniform(0.5 * args.think, 1.5 * args.think))

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clerks]
    for t in threads:
        t.start()
    logged_in.wait()
    start = time.monotonic()
    window.update(count_from=start + args.warmup, stop_at=start + args.warmup + args.seconds)
    print(f"{len(clerks) - len(failed_logins)} clerks logged in; load starts")
    for t in threads:
        t.join(timeout=args.warmup + args.seconds + 120)
    if failed_logins:
        print(f"logins refused: {len(failed_logins)}: {failed_logins[:3]}")
    return results, args.seconds


def report(results, seconds, alone) -> bool:
    print(f"\n{'endpoint':<20}{'requests':>9}{'errors':>7}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
          f"{'target':>8}  {'alone p50':>9}  {'p50 ÷ alone':>11}")
    all_met, total = True, 0
    for endpoint, (kind, _w) in ENDPOINTS.items():
        rows = results.get(endpoint, [])
        total += len(rows)
        if len(rows) < 2:
            print(f"{endpoint:<20} too few requests ({len(rows)})")
            all_met = False
            continue
        errors = sum(1 for _s, ok in rows if not ok)
        cuts = statistics.quantiles([s for s, _ok in rows], n=100, method="inclusive")
        p50, p95, p99 = cuts[49], cuts[94], cuts[98]
        met = p95 <= TARGETS[kind] and errors == 0
        all_met &= met
        print(f"{endpoint:<20}{len(rows):>9}{errors:>7}{len(rows) / seconds:>7.1f}{p50 * 1000:>8.0f}{p95 * 1000:>8.0f}"
              f"{p99 * 1000:>8.0f}{TARGETS[kind] * 1000:>6.0f}{'✓' if met else '✗':>2}  {alone[endpoint] * 1000:>7.0f}ms"
              f"  {p50 / alone[endpoint]:>10.1f}×")
    print(f"{'all':<20}{total:>9}{'':>7}{total / seconds:>7.1f}")
    return all_met


def main():
    args = parse_args()
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"({os.cpu_count()} cores)")
    clerks = prepare(args)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as data_dir:
        server = start_server(args, Path(data_dir), port)
        try:
            print(f"gunicorn: {args.web_workers} sync workers on {HOST}:{port}; {args.users} clerks, "
                  f"think {args.think} s ± 50 %, {args.warmup:.0f} s warm-up then {args.seconds:.0f} s counted")
            alone = baseline(port, clerks[0], args.baseline)
            results, seconds = load(port, clerks, args)
        finally:
            server.terminate()
            server.wait(timeout=60)
    all_met = report(results, seconds, alone)
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("targets met" if all_met else "targets NOT met")


if __name__ == "__main__":
    main()
