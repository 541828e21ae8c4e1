"""The worker process of the database queue: django-tasks-db's db_worker, which also reports that it
is alive (for /healthz and the job pages) and, as it starts and then now and then, recovers jobs
whose worker died (services.recover_lost)."""
import logging
import threading

from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands import db_worker

from cleanheat.jobs import services

log = logging.getLogger(__name__)


def watch(stop: threading.Event) -> None:
    every = settings.CLEANHEAT_JOB_HEARTBEAT_SECONDS
    rounds = 0
    while True:
        try:
            services.worker_beat(services.worker_name())
            if rounds % max(1, int(settings.CLEANHEAT_JOB_STALE_SECONDS / 2 / every)) == 0:
                found = services.recover_lost()
                if found:
                    log.warning("recovered %s job(s) whose worker had died", found)
        except Exception:  # a database restarting must not end the watch
            log.exception("jobs watch failed")
        finally:
            connection.close()
        rounds += 1
        if stop.wait(every):
            return


class Command(db_worker.Command):
    help = "Run the background jobs (imports, exports, sizing, entitlements) from the database queue"

    def handle(self, *args, **options):
        options.setdefault("reload", False)
        stop = threading.Event()
        threading.Thread(target=watch, args=(stop,), daemon=True, name="jobs-watch").start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
