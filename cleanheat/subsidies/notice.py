"""Public notice (公示) of the subsidies to be paid, per village, and objections (异议) against its
lines: every write of issue #16 part 7. Each write is atomic, checked before anything is written,
and leaves an audit record.

A notice lists, per household, the approved lines of the village's year not on an earlier notice,
with the householder's name and ID number masked as PIPL Art. 51 expects (王*国,
1409**********0016): only the masked forms are stored on the notice. The lines may be paid once
the notice period (days: data, NoticePeriod per county or city, else data/notice.json) has ended
and no objection against them is open or upheld (payment_checks).
"""
import json
from collections import defaultdict
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from cleanheat import inputs
from cleanheat.access import require_in_scope, require_perm, scope_filter
from cleanheat.accounts import roles
from cleanheat.audit.services import record
from cleanheat.ledger.identity import mask_id_public, mask_name
from cleanheat.ledger.models import Household
from cleanheat.regions import codes
from cleanheat.regions.models import Region

from . import terms
from .models import (
    NOTICE_MAX_DAYS,
    Entitlement,
    LineStatus,
    Notice,
    NoticeLine,
    NoticePeriod,
    Objection,
    ObjectionOutcome,
    PaymentLine,
    Status,
)

DATA = Path(__file__).resolve().parent / "data" / "notice.json"
LIMITS = {"raised_by": 60, "content": 500, "outcome_note": 500}


@cache
def default_days() -> int:
    return int(json.loads(DATA.read_text(encoding="utf-8"))["default_days"])


def period_days(village_code: str) -> int:
    """The notice period of the village's county, else its city's, else the default (data)."""
    found = dict(NoticePeriod.objects.filter(region_id__in=[codes.full_code(village_code[:6]),
                                                            codes.full_code(village_code[:4])])
                 .values_list("region_id", "days"))
    return found.get(codes.full_code(village_code[:6])) or found.get(codes.full_code(village_code[:4])) \
        or default_days()


def notices_for(user):
    return scope_filter(Notice.objects.all(), user, "village_code")


def lines_for(user):
    return NoticeLine.objects.filter(notice__in=notices_for(user))


def pending_lines(village_code: str, year: int):
    """Approved lines of the village's year on no notice yet (what a new notice would list)."""
    return Entitlement.objects.filter(village_code=village_code, year=year, status=Status.APPROVED,
                                      notice_lines__isnull=True)


def get_notice(user, notice_id) -> Notice:
    found = notices_for(user).filter(pk=notice_id).first() if str(notice_id).isdigit() else None
    if found is None:
        raise Http404("未找到该公示，或不在您的管辖范围内")
    return found


def _days(value) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        raise ValidationError({"days": ["请填写公示天数"]})
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise ValidationError({"days": [f"公示天数“{text}”应为正整数（天）"]})
    days = int(text)
    if days <= 0:
        raise ValidationError({"days": [f"公示天数应大于0天（填写的是{days}）"]})
    if days > NOTICE_MAX_DAYS:
        raise ValidationError({"days": [f"公示天数最多{NOTICE_MAX_DAYS}天（填写的是{days}）"]})
    return days


@transaction.atomic
def publish(user, village_code: str, year: int, *, starts_on: date | None = None, days=None) -> Notice:
    """Publish the village's notice for the year: every approved line not on an earlier notice,
    one row per household. days: the period (none: the village's, from data)."""
    require_perm(user, roles.NOTICE)
    village = Region.objects.filter(code=village_code, level=codes.VILLAGE).first() \
        if isinstance(village_code, str) else None
    if village is None:
        raise Http404("未找到该村（社区）")
    require_in_scope(user, village.code)
    today = timezone.localdate()
    starts_on = starts_on or today
    days = period_days(village.code) if days in (None, "") else _days(days)
    if starts_on < today:
        raise ValidationError({"starts_on": [f"公示开始日期{starts_on:%Y-%m-%d}早于今天，请填写今天或以后的日期"]})
    notice = write_notice(village, year, starts_on, days, user=user)
    if notice is None:
        raise ValidationError({"year": [f"{village.name}{year}年度没有待公示的已审核补贴"]})
    return notice


def write_notice(village: Region, year: int, starts_on: date, days: int, *, user=None) -> Notice | None:
    """The notice itself, after the checks (the demo calls it for past dates): None when the
    village's year has no approved line on no notice yet."""
    lines = list(pending_lines(village.code, year).select_for_update(of=("self",))
                 .values_list("pk", "household_id", "kind", "amount_fen").order_by("household_id", "kind"))
    if not lines:
        return None
    notice = Notice.objects.create(village_code=village.code, year=year, starts_on=starts_on, period_days=days,
                                   ends_on=starts_on + timedelta(days=days - 1), published_by=user)
    by_household = defaultdict(list)
    for pk, household, kind, fen in lines:
        by_household[household].append((pk, kind, fen))
    people = {pk: (name, masked, no) for pk, name, masked, no in Household.objects.filter(pk__in=list(by_household))
              .values_list("pk", "householder_name", "id_number_masked", "household_no")}
    ordered = sorted(by_household, key=lambda h: people[h][2])
    made = NoticeLine.objects.bulk_create([NoticeLine(
        notice=notice, household_id=h, position=i, name_masked=mask_name(people[h][0]),
        id_masked=mask_id_public(people[h][1]), amount_fen=sum(fen for _, _, fen in by_household[h]),
        kinds="、".join(terms.KIND_LABELS[k] for k in terms.KINDS if k in {kind for _, kind, _ in by_household[h]}))
        for i, h in enumerate(ordered, start=1)])
    line_of = {line.household_id: line.pk for line in made}
    if not all(line_of.values()):   # backends that return no ids from bulk_create
        line_of = dict(notice.lines.values_list("household_id", "pk"))
    through = NoticeLine.entitlements.through
    through.objects.bulk_create([through(noticeline_id=line_of[h], entitlement_id=pk)
                                 for h, items in by_household.items() for pk, _, _ in items])
    record("notice", user=user, region_code=village.code, target=f"{year}年度补贴公示：村（社区）{village.code}",
           detail=f"{len(made)}户，{terms.yuan(sum(fen for *_, fen in lines))}元，"
                  f"{starts_on:%Y-%m-%d}至{notice.ends_on:%Y-%m-%d}（{days}天）")
    return notice


def _text(data: dict, name: str, label: str, *, required=True) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise ValidationError({name: [f"请填写{label}"]})
    if len(value) > LIMITS[name]:
        raise ValidationError({name: [f"{label}过长（最多{LIMITS[name]}个字）"]})
    if inputs.unprintable(value):
        raise ValidationError({name: [f"{label}含有不可见的控制字符"]})
    return value


def get_line(user, line_id, *, lock=False) -> NoticeLine:
    rows = lines_for(user).select_related("notice")
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.filter(pk=line_id).first() if str(line_id).isdigit() else None
    if found is None:
        raise Http404("未找到该公示明细，或不在您的管辖范围内")
    return found


def paid_entitlements(entitlement_ids) -> set[int]:
    """Those of the entitlements a bank has paid (a recovered one was paid too: 追缴 settles it)."""
    return set(PaymentLine.objects.filter(entitlement_id__in=entitlement_ids,
                                          status__in=[LineStatus.PAID, LineStatus.RECOVERED])
               .values_list("entitlement_id", flat=True))


@transaction.atomic
def record_objection(user, line_id, data: dict) -> Objection:
    """An objection against one line of a notice in the user's scope: who raised it, what it says,
    when it was received. The line cannot be paid while it is open (or once upheld)."""
    require_perm(user, roles.OBJECTION)
    line = get_line(user, line_id, lock=True)
    raised_by = _text(data, "raised_by", "异议人")
    content = _text(data, "content", "异议内容")
    received = data.get("received_on") or timezone.localdate()
    if isinstance(received, str):
        try:
            received = date.fromisoformat(received.strip())
        except ValueError:
            raise ValidationError({"received_on": [f"收到日期“{received}”应为日期（如2024-11-05）"]}) from None
    if received > timezone.localdate():
        raise ValidationError({"received_on": ["收到日期不能晚于今天"]})
    if received < line.notice.starts_on:
        raise ValidationError({"received_on": [f"收到日期早于公示开始日期{line.notice.starts_on:%Y-%m-%d}"]})
    if paid_entitlements(list(line.entitlements.values_list("pk", flat=True))):
        raise ValidationError({"line": ["该户补贴已发放，不能再登记公示异议，请按追回程序办理"]})
    objection = Objection.objects.create(line=line, raised_by=raised_by, content=content, received_on=received,
                                         recorded_by=user)
    record("notice", user=user, region_code=line.notice.village_code,
           target=f"公示异议：第{line.position}行（{line.name_masked}）", detail=f"异议人：{raised_by}")
    return objection


@transaction.atomic
def decide_objection(user, objection_id, outcome: str, note: str) -> Objection:
    """The outcome of an open objection after checking it: upheld (the line is not paid) or
    dismissed (it may be), with what was found."""
    require_perm(user, roles.DECIDE_OBJECTION)
    objection = Objection.objects.select_for_update(of=("self",)).filter(
        pk=objection_id, line__notice__in=notices_for(user)).select_related("line", "line__notice").first() \
        if str(objection_id).isdigit() else None
    if objection is None:
        raise Http404("未找到该异议，或不在您的管辖范围内")
    if outcome not in (ObjectionOutcome.UPHELD, ObjectionOutcome.DISMISSED):
        raise ValidationError({"outcome": ["请选择处理结果：异议成立或异议不成立"]})
    if objection.outcome != ObjectionOutcome.OPEN:
        raise ValidationError({"outcome": [f"该异议已处理（{objection.get_outcome_display()}），不能重复处理"]})
    objection.outcome_note = _text({"outcome_note": note}, "outcome_note", "核实情况")
    objection.outcome = outcome
    objection.decided_by = user
    objection.decided_at = timezone.now()
    objection.save()
    record("notice", user=user, region_code=objection.line.notice.village_code,
           target=f"公示异议处理：第{objection.line.position}行（{objection.line.name_masked}）",
           detail=str(objection.get_outcome_display()))
    return objection
