"""Shared by the full-city benchmarks: a SQLite database (or DATABASE_URL) holding the whole
212,549-household demo, loaded once and kept with --reuse."""
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = str(ROOT / "data" / "bench.sqlite3")


def add_arguments(parser):
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")


def open_full_demo(args):
    """Point Django at the benchmark database, migrate, and load the full demo if it is empty."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(args.db + suffix).unlink(missing_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cleanheat.settings")
    os.environ["CLEANHEAT_DEBUG"] = "0"
    import django
    django.setup()
    from django.core.management import call_command

    from cleanheat.demo.loader import load_demo, read_config
    from cleanheat.ledger.models import Household
    Path(args.db).parent.mkdir(exist_ok=True)
    call_command("migrate", verbosity=0)
    print(f"database: {django.db.connection.vendor}")
    if not Household.objects.exists():
        started = time.perf_counter()
        n = load_demo(read_config())
        print(f"demo load: {n} households in {time.perf_counter() - started:.1f} s")


def median_of(repeat, fn):
    """(the median of `repeat` timed calls of fn in seconds, each call's time, the last result)."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result
