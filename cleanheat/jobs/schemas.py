"""What the API answers when it starts a background job (imports, sizing, entitlements)."""
from ninja import Schema


class JobOut(Schema):
    id: str
    status: str
    message: str
    counts: dict


def started(job) -> dict:
    """The job as just queued (or, with CLEANHEAT_TASKS_SYNC, already run)."""
    job.refresh_from_db()
    return {"id": str(job.pk), "status": job.status, "message": job.message, "counts": job.counts}
