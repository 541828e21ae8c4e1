#!/usr/bin/env python3
"""CleanHeat's entry points, runnable with any Python 3 on a fresh machine.

    python3 dev.py demo   # install, load the Xinzhou 2022 demo, serve on 127.0.0.1:8000
    python3 dev.py test   # install, run the whole test suite in parallel (DATABASE_URL picks the database)
    python3 dev.py serve  # install, migrate, then gunicorn + the jobs worker with settings_production
                          # (needs DATABASE_URL=postgres://…, CLEANHEAT_SECRET_KEY, CLEANHEAT_PII_KEY,
                          # CLEANHEAT_ALLOWED_HOSTS; see deploy/README.md)

Django 6 needs Python >= 3.12, so this script looks for one (PATH, then pyenv), builds
.venv from requirements.lock and re-runs the real work inside it.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
MIN_PY = (3, 12)
# What `serve` refuses to start without (settings_production reads them; no demo default may leak in).
SERVE_NEEDS = ("DATABASE_URL", "CLEANHEAT_SECRET_KEY", "CLEANHEAT_PII_KEY", "CLEANHEAT_ALLOWED_HOSTS")


def find_python():
    if sys.version_info >= MIN_PY:
        return sys.executable
    names = [f"python3.{minor}" for minor in range(20, MIN_PY[1] - 1, -1)]
    candidates = [shutil.which(n) for n in names]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.*/bin/python3"), reverse=True)
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys;print(sys.version_info[:2]>=(3,12))"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            continue
        if out == "True":
            return exe
    sys.exit("需要 Python 3.12 或更高版本（Django 6 的要求），本机未找到。\n"
             "CleanHeat needs Python >= 3.12 (required by Django 6); none was found.")


def venv_python():
    return VENV / "bin" / "python"


def ensure_venv():
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    stamp = VENV / ".lock-sha256"
    if venv_python().exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    if not venv_python().exists():
        print("创建虚拟环境 / creating .venv …", flush=True)
        subprocess.run([find_python(), "-m", "venv", str(VENV)], check=True)
    print("安装依赖 / installing requirements.lock …", flush=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["-r", str(LOCK)], check=True)
    stamp.write_text(wanted)


def manage(*args, env=None):
    return subprocess.run([str(venv_python()), str(ROOT / "manage.py"), *args], cwd=ROOT, env=env)


# Debian packages the app and its tests need beyond Python's: the browser tests' chromium; pango, a
# Chinese font and pdftotext for PDFs (WeasyPrint renders with pango; tests read PDFs' text back).
DEBIAN_PACKAGES = {"chromium": "/usr/bin/chromium",
                   "libpango-1.0-0": "/usr/share/doc/libpango-1.0-0", "libpangoft2-1.0-0": "/usr/share/doc/libpangoft2-1.0-0",
                   "fonts-noto-cjk": "/usr/share/fonts/opentype/noto", "poppler-utils": "/usr/bin/pdftotext"}


def ensure_debian_packages():
    """Install the missing ones when we may (root with apt)."""
    missing = [name for name, marker in DEBIAN_PACKAGES.items() if not os.path.exists(marker)]
    if not missing or not shutil.which("apt-get") or os.geteuid() != 0:
        return
    print(f"安装系统软件包 / installing Debian packages: {' '.join(missing)} …", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def start_worker(env=None):
    """Background jobs (imports, exports, sizing) run in their own worker process beside the web
    server, from the queue in the database: a restart of either loses no job."""
    return subprocess.Popen([str(venv_python()), str(ROOT / "manage.py"), "jobs_worker", "--no-startup-delay"],
                            cwd=ROOT, env=env)


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def demo():
    ensure_debian_packages()
    (ROOT / "data").mkdir(exist_ok=True)
    for step in (["migrate", "--no-input", "-v", "0"], ["load_demo", "--if-empty"]):
        if manage(*step).returncode:
            sys.exit("演示数据准备失败 / demo set-up failed")
    manage("demo_info")
    worker = start_worker()
    try:
        manage("runserver", "127.0.0.1:8000", "--noreload", "--skip-checks")
    finally:
        stop(worker)


def serve():
    """The production server in the foreground: gunicorn (deploy/gunicorn.conf.py; CLEANHEAT_BIND,
    CLEANHEAT_WEB_WORKERS) and the jobs worker, with settings_production on PostgreSQL."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cleanheat.settings_production"}
    for step in (["migrate", "--no-input", "-v", "0"], ["collectstatic", "--no-input", "-v", "0"]):
        if manage(*step, env=env).returncode:
            sys.exit("启动前准备失败 / set-up before serving failed")
    worker = start_worker(env)
    try:
        subprocess.run([str(VENV / "bin" / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
                       check=False, cwd=ROOT, env=env)
    finally:
        stop(worker)


def refuse_to_serve():
    """Before installing anything: the variables `serve` cannot run without, named."""
    missing = [name for name in SERVE_NEEDS if not os.environ.get(name)]
    if missing:
        sys.exit(f"缺少环境变量 / missing environment variables: {', '.join(missing)}\n"
                 "例 / e.g. DATABASE_URL=postgres://cleanheat@127.0.0.1:5432/cleanheat CLEANHEAT_SECRET_KEY=… "
                 "CLEANHEAT_PII_KEY=… CLEANHEAT_ALLOWED_HOSTS=cleanheat.example.gov.cn python3 dev.py serve "
                 "(deploy/cleanheat.env.example)")
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("生产服务器使用 PostgreSQL：DATABASE_URL 应为 postgres://… / "
                 "the production server runs on PostgreSQL: DATABASE_URL must be postgres://…")


def parallel(extra):
    """pytest-xdist options for the whole suite: one worker per core (each with its own test
    database and files), unless the caller chose (-n / --numprocesses / --dist, or -p no:xdist)."""
    chosen = any(a in ("-n", "--numprocesses", "--dist") or a.startswith(("-n", "--numprocesses=", "--dist="))
                 for a in extra)
    off = any(a == "no:xdist" or a == "-pno:xdist" for a in extra)
    return [] if chosen or off else ["-n", "auto", "--dist", "load"]


def test(extra):
    ensure_debian_packages()
    cmd = [str(venv_python()), "-m", "pytest", *parallel(extra), *extra]
    sys.exit(subprocess.run(cmd, cwd=ROOT).returncode)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test", "serve"):
        sys.exit(__doc__)
    if sys.argv[1] == "serve":
        refuse_to_serve()
    ensure_venv()
    if sys.argv[1] == "demo":
        demo()
    elif sys.argv[1] == "serve":
        serve()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()
