"""Every write of the desk: 催报, publishing and withdrawing notices, read receipts, "seen" marks.
Each checks permission and scope, validates, and leaves an audit record where it matters."""
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cleanheat.access import NOTHING, require_in_scope, require_perm, user_prefix
from cleanheat.accounts.roles import MANAGE_USERS
from cleanheat.audit.services import record
from cleanheat.plan import dispatch
from cleanheat.plan.models import DispatchReport, Plan
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import queries
from .models import Notice, NoticeAudience, NoticeRead, Reminder, Seen

TITLE_MAX, BODY_MAX, MESSAGE_MAX = 120, 20000, 200
ATTACHMENT_TYPES = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et", ".ofd", ".txt", ".jpg", ".jpeg",
                    ".png", ".zip"}


def _cooldown() -> timedelta:
    return timedelta(minutes=getattr(settings, "CLEANHEAT_REMIND_COOLDOWN_MINUTES", 60))


def period_report(plan: Plan, county_code: str, period_start):
    """The latest version of a county's report for one period, or None."""
    return DispatchReport.objects.filter(plan=plan, county_code=county_code, period_start=period_start) \
        .order_by("-version").first()


@transaction.atomic
def remind(plan: Plan, county_code: str, *, user, message: str = "", on=None) -> tuple[Reminder, bool]:
    """催报: the city reminds a county that this period's dispatch report is missing (or returned).
    A second press within the cooldown returns the first reminder (created=False) instead of piling up."""
    require_perm(user, MANAGE_USERS)
    if not dispatch.can_review(user):
        raise PermissionDenied("催报由市级对各县进行")
    county = Region.objects.filter(code=codes.full_code(county_code or ""), level=codes.COUNTY).first()
    if county is None:
        raise ValidationError({"county": ["请选择县（市、区）"]})
    require_in_scope(user, county.code)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationError({"message": [f"附言不能超过{MESSAGE_MAX}字"]})
    start, _end = dispatch.cycle_of(plan, on or timezone.localdate())
    report = period_report(plan, county.prefix, start)
    if report is not None and report.status == "submitted":
        raise ValidationError({"county": [f"{county.name}本期调度报告已报送，无需催报"]})
    recent = Reminder.objects.filter(plan=plan, unit_code=county.prefix, period_start=start,
                                     created_at__gte=timezone.now() - _cooldown()).first()
    if recent is not None:
        return recent, False
    reminder = Reminder.objects.create(plan=plan, unit_code=county.prefix, period_start=start, message=message,
                                       created_by=user)
    record("remind", user=user, region_code=county.code, target=f"催报调度报告：{county.name}"[:120],
           detail=f"周期 {start.isoformat()}" + (f"；附言：{message}" if message else ""))
    return reminder, True


def _audience(user, prefix: str, audience) -> list[str]:
    """The prefixes to address: the publisher's whole area ("all") or chosen units directly below it."""
    if audience == "all":
        return [prefix]
    units = {r.prefix for r in queries.audience_units(prefix)}
    chosen = sorted({(code or "").strip()[:len(next(iter(units), ""))] for code in audience or []} - {""})
    unknown = [c for c in chosen if c not in units]
    if unknown or not chosen:
        raise ValidationError({"audience": ["请选择发布范围（全部或所辖单位）" if not chosen else
                                            f"发布范围不在本单位辖区内：{'、'.join(unknown)}"]})
    return chosen


def _check_attachment(upload) -> None:
    if upload is None:
        return
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        raise ValidationError({"attachment": [f"附件类型不支持（{suffix or '无扩展名'}），可上传："
                                              f"{'、'.join(sorted(ATTACHMENT_TYPES))}"]})
    limit = getattr(settings, "CLEANHEAT_NOTICE_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)
    if upload.size > limit:
        raise ValidationError({"attachment": [f"附件不能超过{limit // (1024 * 1024)} MB"]})


@transaction.atomic
def publish(*, user, title: str, body: str, audience="all", attachment=None) -> Notice:
    """通知公告: a city or county manager publishes to their whole area or chosen units below it."""
    require_perm(user, MANAGE_USERS)
    prefix = user_prefix(user)
    if prefix in ("", NOTHING) or len(prefix) not in queries.UNIT_BELOW:
        raise PermissionDenied("通知公告由市、县、乡级管理员在本辖区内发布")
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title or len(title) > TITLE_MAX:
        errors["title"] = ["请填写标题" if not title else f"标题不能超过{TITLE_MAX}字"]
    if not body or len(body) > BODY_MAX:
        errors["body"] = ["请填写正文" if not body else f"正文不能超过{BODY_MAX}字"]
    if errors:
        raise ValidationError(errors)
    prefixes = _audience(user, prefix, audience)
    _check_attachment(attachment)
    notice = Notice(title=title, body=body, publisher=user, publisher_scope=prefix)
    if attachment is not None:
        notice.attachment_name = PurePath(attachment.name).name[:200]
        notice.attachment.save(attachment.name, attachment, save=False)
    notice.save()
    NoticeAudience.objects.bulk_create([NoticeAudience(notice=notice, prefix=p) for p in prefixes])
    record("notice", user=user, region_code=codes.full_code(prefix), target=f"发布通知公告：{title}"[:120],
           detail="发布范围：" + "、".join(prefixes))
    return notice


@transaction.atomic
def withdraw(notice: Notice, *, user, reason: str) -> Notice:
    if not queries.manages(user, notice):
        raise PermissionDenied("只有发布单位可以撤回")
    if notice.withdrawn_at:
        raise ValidationError({"__all__": ["该通知已撤回"]})
    reason = (reason or "").strip()
    if not reason or len(reason) > MESSAGE_MAX:
        raise ValidationError({"reason": ["撤回须说明原因" if not reason else f"原因不能超过{MESSAGE_MAX}字"]})
    notice.withdrawn_at, notice.withdrawn_by, notice.withdraw_reason = timezone.now(), user, reason
    notice.save(update_fields=["withdrawn_at", "withdrawn_by", "withdraw_reason"])
    record("notice", user=user, region_code=codes.full_code(notice.publisher_scope),
           target=f"撤回通知公告：{notice.title}"[:120], detail=reason)
    return notice


def mark_read(notice: Notice, *, user) -> bool:
    """Record the read receipt (once); True if this was the first reading."""
    try:
        with transaction.atomic():
            _receipt, created = NoticeRead.objects.get_or_create(notice=notice, user=user)
    except IntegrityError:  # the same user opening it twice at once
        return False
    return created


def mark_seen(user, key: str, data: dict | None = None) -> None:
    Seen.objects.update_or_create(user=user, key=key[:60], defaults={"data": data or {}})
