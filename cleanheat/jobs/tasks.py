"""The one task the queue carries: a job's run, by the job's id and the run's token (the job's row
names the function; see services.start)."""
from django.tasks import task

from . import services


@task()
def run_job(job_id: str, token: str) -> str:
    return services.run(job_id, token)
