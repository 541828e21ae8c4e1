"""JSON API of the subsidies module, mounted on the main API: computing entitlements as a job.
(The API for policies, entitlements per household, declarations and batches comes with the later
parts of the programme.)"""
from ninja import Router, Schema, Status

from cleanheat.access import requires
from cleanheat.accounts import roles
from cleanheat.jobs.schemas import JobOut, started

from . import batch

router = Router(tags=["补贴资金 subsidies"])


class ComputeIn(Schema):
    year: int | str
    region: str = ""


@router.post("/compute", response={202: JobOut})
@requires(roles.COMPUTE)
def compute(request, payload: ComputeIn):
    """Compute the year's entitlements for a region (its 12-digit code or prefix; none: your whole
    area) in the background; poll the job at /jobs/{id}/. Approved lines stay as they are."""
    return Status(202, started(batch.start_job(request.user, payload.year, payload.region)))
