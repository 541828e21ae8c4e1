"""Computing entitlements as a background job with a progress bar (the page and the API start it;
`manage.py compute_entitlements` runs the same services call in the foreground)."""
from django.core.exceptions import ValidationError
from django.utils import timezone

from cleanheat.audit.services import record
from cleanheat.jobs import services as jobs
from cleanheat.jobs.models import Job
from cleanheat.regions.scope import region_named, user_prefix

from . import services
from .models import SubsidyPolicy

YEARS = (2000, 2100)


def checked_year(value) -> int:
    """The year as typed, refused in Chinese unless it is a whole year that has a policy."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit() and YEARS[0] <= int(text) <= YEARS[1]):
        raise ValidationError({"year": [f"年度“{text[:10]}”应为{YEARS[0]}到{YEARS[1]}之间的年份"]})
    if not SubsidyPolicy.objects.filter(year=int(text)).exists():
        raise ValidationError({"year": [f"{text}年度还没有补贴政策，请先录入或导入政策"]})
    return int(text)


def start_job(user, year, code: str = ""):
    """Compute `year`'s entitlements for a region (its 12-digit code or prefix; none: the user's
    whole area) as a background job. The year and the code are checked before any job exists: a
    malformed one is refused, an unknown or out-of-scope region answers 404."""
    year = checked_year(year)
    region = region_named(user, code)
    prefix, label = (region.prefix, region.name) if region else ("", "全市")
    job = Job.objects.create(kind="entitlements", user=user, region_scope=user_prefix(user),
                             params={"prefix": prefix, "year": year}, filename=f"{year}年度补贴核算：{label}")
    jobs.start(job, run_job, retry_safe=True)  # one transaction replaces the year's entitlements
    return job


def run_job(job):
    jobs.save(job, status="running")
    stats = services.compute_entitlements(job.params["year"], job.params.get("prefix", ""),
                                          progress=jobs.reporter(job.pk))
    message = services.summary(stats)
    jobs.save(job, status="done", counts=stats, message=message, finished_at=timezone.now())
    record("entitlements", user=job.user, region_code=job.params.get("prefix", ""), target=job.filename, detail=message)
