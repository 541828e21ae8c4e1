"""Routine dispatch (调度): cycles set by the city, county reports with computed figures."""
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cleanheat.access import has_perm, require_in_scope, require_perm, user_prefix
from cleanheat.accounts.roles import EDIT, MANAGE_USERS
from cleanheat.ledger.choices import STATE_ORDER, HeatingPath

from . import progress
from .models import DispatchReport, Plan


def cycle_of(plan: Plan, on: date) -> tuple[date, date]:
    """The dispatch period containing `on`: every `dispatch_every_days` from the works start."""
    n = plan.dispatch_every_days or 7
    index = max(0, (on - plan.works_start).days // n)
    start = plan.works_start + timedelta(days=index * n)
    return start, start + timedelta(days=n - 1)


def figures(plan: Plan, county_code: str, on: date) -> dict:
    """The computed part of a report: per path target, confirmed+, installed+, accepted+."""
    counts = progress.counts_on(county_code, 6, on, plan.year).get(county_code, {})
    targets = progress.county_targets(plan, county_code)
    county = targets.get(county_code, {"entries": {}})
    out = {}
    for path in HeatingPath:
        entries = county["entries"].get(path.value, [])
        target = entries[-1].installed if entries else 0
        reached = progress.reached(counts, path.value)
        if target or reached[0]:
            out[path.value] = {"label": str(path.label), "target": target, "confirmed": reached[0],
                               "installed": reached[STATE_ORDER.index("installed")],
                               "accepted": reached[STATE_ORDER.index("accepted")]}
    return {"as_of": on.isoformat(), "paths": out}


@transaction.atomic
def submit(plan: Plan, county_code: str, *, user, problems: str, help_needed: list, responsible_person: str,
           on: date | None = None) -> DispatchReport:
    require_perm(user, EDIT)
    require_in_scope(user, county_code.ljust(12, "0"))
    if len(user_prefix(user)) < 6 and not user.is_superuser:
        raise PermissionDenied("调度报告由县级报送")
    on = on or timezone.localdate()
    if not (responsible_person or "").strip():
        raise ValidationError({"responsible_person": ["须填写责任人"]})
    bad = set(help_needed) - {k for k, _ in DispatchReport.HELP_CHOICES}
    if bad:
        raise ValidationError({"help_needed": [f"未知的协调事项：{'、'.join(sorted(bad))}"]})
    start, end = cycle_of(plan, on)
    latest = DispatchReport.objects.filter(plan=plan, county_code=county_code, period_start=start) \
        .aggregate(v=Max("version"))["v"] or 0
    current = DispatchReport.objects.filter(plan=plan, county_code=county_code, period_start=start, version=latest).first()
    if current and current.status == "submitted":
        raise ValidationError({"__all__": ["本周期已报送；如需修改，请由市级退回后重新报送"]})
    return DispatchReport.objects.create(
        plan=plan, county_code=county_code, period_start=start, period_end=end, version=latest + 1,
        figures=figures(plan, county_code, on), problems=(problems or "").strip(), help_needed=list(help_needed),
        responsible_person=responsible_person.strip(), submitted_by=user)


@transaction.atomic
def return_report(report: DispatchReport, *, user, reason: str) -> DispatchReport:
    require_perm(user, MANAGE_USERS)
    if len(user_prefix(user)) > 4:
        raise PermissionDenied("调度报告由市级审核退回")
    if report.returned_at:
        raise ValidationError({"__all__": ["该报告已退回"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["退回须说明原因"]})
    report.returned_by, report.returned_at, report.return_reason = user, timezone.now(), reason.strip()
    report.save(update_fields=["returned_by", "returned_at", "return_reason"])
    return report


def status_board(plan: Plan, period_start: date, counties) -> list[dict]:
    """For the city: who has and hasn't reported in this period."""
    latest = {}
    for r in DispatchReport.objects.filter(plan=plan, period_start=period_start).order_by("county_code", "version"):
        latest[r.county_code] = r
    return [{"county": c, "report": latest.get(c.code[:6]),
             "status": latest[c.code[:6]].status if c.code[:6] in latest else "missing"} for c in counties]


def can_review(user) -> bool:
    return has_perm(user, MANAGE_USERS) and len(user_prefix(user)) <= 4
