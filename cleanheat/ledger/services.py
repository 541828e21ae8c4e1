"""The single door for every write to the ledger: UI, API, import and CLI all call these.

Each function validates (raising django ValidationError keyed by field, messages in Chinese),
applies the rules, and writes the change together with its history in one transaction:
either all of it lands or nothing does. Each field's own check lives in `cleaning`, the
lifecycle's allowed moves in `lifecycle`, the builders shared with the bulk paths (`bulk`)
in `records` and `history`.
"""
import inspect
from datetime import date
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cleanheat import inputs, pii
from cleanheat.access import require_perm
from cleanheat.audit.services import HolderElsewhere, record, record_duplicates
from cleanheat.regions import services as region_changes
from cleanheat.regions.models import RegionChange
from cleanheat.regions.scope import in_scope
from cleanheat.rules import engine
from cleanheat.versions import Change, StaleEdit

from . import asof, history, identity, lifecycle
from .choices import Channel, HeatingPath, LifecycleState
from .cleaning import CLEANERS, Context, Lookups, blank, required_message
from .labels import field_label, history_lines, state_label
from .models import Household, LifecycleEvent, MaintenanceRecord
from .records import (ACCOUNT_FIELDS, PII_FIELDS, REASON_LENGTH, lifecycle_event, new_household,
                      next_household_numbers, set_values)

# Fields a caller may set, in display order. id_number/phone are plaintext on input only.
EDITABLE_FIELDS = [
    "village", "householder_name", "id_number", "phone", "bank_account", "electricity_account", "gas_account",
    "address", "household_size",
    "is_dibao", "is_tekun", "is_tuopin", "is_canji",
    "heated_area", "structure", "envelope_retrofitted", "envelope_gain_pct",
    "original_facility", "heating_path", "electric_device", "heat_source", "removal_consent_on", "plan_year",
]
REQUIRED_ON_CREATE = ["village", "householder_name", "id_number", "heated_area",
                      "original_facility", "heating_path"]
# Fields an update may clear (None: "no value"); the others always hold one.
CLEARABLE = {"phone", "bank_account", "electricity_account", "gas_account", "address", "electric_device", "heat_source",
             "removal_consent_on", "envelope_gain_pct"}
# A householder outside the caller's area: refused without naming that household or its area.
HOLDER_ELSEWHERE = "该身份证号已在其他地区登记为户主，请联系县级管理员核实"
SOURCE_LENGTH = 200  # HouseholdChange.source
STALE_MESSAGE = "此户已被他人修改，您的修改未保存。请核对他人的修改后重新提交。"
# Fields that decide where a household counts in the as-of-a-day figures (ledger.asof).
COUNTED_FIELDS = {"village", "plan_year", "heating_path"}
# Utility account numbers are contact data like a phone: utility staff and clerks may reveal them.
REVEAL_PERMISSION = {"id_number": "pii.reveal_id", "phone": "pii.reveal_phone", "bank_account": "pii.reveal_bank",
                     "electricity_account": "pii.reveal_phone", "gas_account": "pii.reveal_phone"}


def clean_household_data(data: dict, *, instance: Household | None = None, user=None,
                         lookups: Lookups | None = None, state: str | None = None) -> dict:
    """Validate input for a create (instance=None) or an update; return cleaned values.

    Raises ValidationError({field: [message]}) listing every problem at once."""
    context = Context(user, lookups or Lookups())
    cleaned = _clean_fields(data, instance, context)
    if instance is None and "plan_year" not in cleaned:  # a new household joins the latest plan
        cleaned["plan_year"] = context.lookups.default_plan_year()
    state = state or (instance.state if instance else LifecycleState.CONFIRMED)
    errors = _check_device(cleaned, instance, state)
    elsewhere = _check_holder(cleaned, instance, context, errors)
    _check_accounts(cleaned, instance, context, errors)
    if instance is not None and "village" in cleaned and user is not None \
            and not in_scope(user, instance.village_id):
        errors["village"] = ["该户不在您的管辖范围内"]
    if not errors:
        _check_rules(cleaned, instance, state, errors)
    if errors:
        raise _refusal(errors, elsewhere)
    return cleaned


def _clean_fields(data: dict, instance, context: Context) -> dict:
    """Each field through its own cleaner; every problem at once."""
    errors, cleaned = {}, {}
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        errors["__all__"] = [f"不能修改的字段：{'、'.join(sorted(unknown))}"]
    for name in EDITABLE_FIELDS:
        if name not in data:
            if instance is None and name in REQUIRED_ON_CREATE:
                errors[name] = [required_message(name)]
            continue
        if (name in REQUIRED_ON_CREATE and blank(data[name])) or (data[name] is None and name not in CLEARABLE):
            errors[name] = [required_message(name)]
            continue
        try:
            cleaned[name] = CLEANERS[name](data[name], context)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_device(cleaned: dict, instance, state: str) -> dict:
    """A device type only belongs to 煤改电, and 煤改电 needs one once selected. Returns the errors."""
    path = cleaned.get("heating_path", instance.heating_path if instance else None)
    device = cleaned.get("electric_device", instance.electric_device if instance else "")
    if path != HeatingPath.ELECTRIC and device:
        cleaned["electric_device"] = ""
    elif path == HeatingPath.ELECTRIC and not device and lifecycle.index(state) >= 1:
        return {"electric_device": ["煤改电用户已选型，须填写煤改电设备类型"]}
    return {}


def _check_holder(cleaned: dict, instance, context: Context, errors: dict) -> HolderElsewhere | None:
    """One person heads one active household. Outside the caller's area the refusal names nothing;
    whenever the other household lies in another county, it returns what the audit keeps of the
    attempt (跨地区重复登记, listed for both counties)."""
    if "id_number" not in cleaned:
        return None
    id_hash = pii.blind_index(cleaned["id_number"], "id")
    other = context.lookups.active_holder(id_hash, exclude_pk=instance.pk if instance else None)
    if other is None:
        return None
    number, village = other
    here = cleaned["village"].code if "village" in cleaned else instance.village_id
    if context.user is None or in_scope(context.user, village):
        errors["id_number"] = [f"该身份证号已是户 {number}（{context.lookups.region_name(village)}）的户主，"
                               "同一人不能同时为两户户主"]
        if here[:6] == village[:6]:
            return None
        # the caller sees both counties (the city): told which household, and the two counties are flagged
    else:
        errors["id_number"] = [HOLDER_ELSEWHERE]
    return HolderElsewhere(id_hash=id_hash, id_masked=identity.mask_id_number(cleaned["id_number"]),
                           region_code=here, other_region_code=village, other_household_no=number)


def _check_accounts(cleaned: dict, instance, context: Context, errors: dict) -> None:
    """A utility account belongs to one active household (an import matches rows by it)."""
    for name in ACCOUNT_FIELDS:
        if not cleaned.get(name):
            continue
        kind, _mask = PII_FIELDS[name]
        other = context.lookups.account_holder(name, pii.blind_index(cleaned[name], kind),
                                               exclude_pk=instance.pk if instance else None)
        if other is None:
            continue
        number, village = other
        if context.user is None or in_scope(context.user, village):
            errors[name] = [f"该{field_label(name)}已登记在户 {number}（{context.lookups.region_name(village)}）"]
        else:
            errors[name] = [f"该{field_label(name)}已在其他地区登记，请联系县级管理员核实"]


def _check_rules(cleaned: dict, instance, state: str, errors: dict) -> None:
    """The plan's rules, on the household as it would be after this write."""
    def after(name, default):
        return cleaned[name] if name in cleaned else (getattr(instance, name) if instance else default)

    village = cleaned["village"].code if "village" in cleaned else instance.village_id
    path = after("heating_path", None)
    entering = instance is None or path != instance.heating_path or village != instance.village_id
    if problem := engine.retrofit_problem(after("envelope_retrofitted", False), after("envelope_gain_pct", None),
                                          village):
        errors.setdefault("envelope_gain_pct", [problem])
    for field, message in engine.for_state(
            instance, path=path, village_code=village, area=after("heated_area", 0), state=state,
            heat_source=after("heat_source", None), entering=entering).items():
        errors.setdefault(field, [message])


def _refusal(errors: dict, elsewhere: HolderElsewhere | None) -> ValidationError:
    """The refusal, carrying what the audit must keep of a householder found outside the caller's area."""
    error = ValidationError(errors)
    error.holder_elsewhere = elsewhere
    return error


def _records_holder_elsewhere(service):
    """Record the attempt behind a refusal for a householder outside the caller's area after the
    service's transaction has rolled back (inside it the record would roll back too). The caller's
    own transaction, if any, decides whether it stays."""
    signature = inspect.signature(service)

    @wraps(service)
    def wrapped(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except ValidationError as error:
            if elsewhere := getattr(error, "holder_elsewhere", None):
                call = signature.bind(*args, **kwargs)
                call.apply_defaults()
                record_duplicates([elsewhere], user=call.arguments["user"], channel=call.arguments["channel"])
            raise
    return wrapped


def changes_since(household: Household, version: int) -> list[Change]:
    """What was written to the household after the version a user saw, oldest first."""
    rows = household.changes.filter(version__gt=version).select_related("user").order_by("id")
    return [Change(line.field_label, line.old_display, line.new_display, str(line.user or "系统"), line.changed_at)
            for line in history_lines(rows)]


def _check_version(household: Household, expected_version) -> None:
    """Refuse a save based on an older version than the (locked) row's: nothing is overwritten."""
    if expected_version is None:
        return
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = -1  # not a version this row ever had
    if seen != household.version:
        raise StaleEdit(STALE_MESSAGE, version=household.version,
                        changes=changes_since(household, seen) if 0 <= seen < household.version else [])


def _save_unique(household: Household):
    """The service checks first; the database constraint settles a race between two clerks."""
    try:
        with transaction.atomic():
            household.save()
    except IntegrityError:
        raise ValidationError({"id_number": ["该身份证号已是另一户的户主，同一人不能同时为两户户主"]}) from None


def _check_lock(*places) -> None:
    """Approved (locked) ledger data changes only after the approving level reopens it (issue #18)."""
    for village, year in places:
        if problem := engine.lock_problem(village, year):
            raise ValidationError({"__all__": [problem]})


def next_household_no(county_code: str) -> str:
    """County code + 7-digit serial, never reused (row lock serialises concurrent creators)."""
    return next_household_numbers(county_code)[0]


@_records_holder_elsewhere
@transaction.atomic
def create_household(data: dict, *, user=None, channel=Channel.UI, source="") -> Household:
    cleaned = clean_household_data(data, user=user)
    household = new_household(cleaned, state=lifecycle.FIRST, now=timezone.now())
    _check_lock((household.village_id, household.plan_year))
    household.household_no = next_household_no(household.village_id[:6])
    _save_unique(household)
    history.household_created(household=household, user=user, channel=channel, source=source)
    lifecycle_event(household, household.state, from_state="", occurred_on=timezone.localdate(), user=user,
                    channel=channel, reason="建档").save()
    asof.added([household.pk])
    return household


@_records_holder_elsewhere
@transaction.atomic
def update_household(household: Household, data: dict, *, user=None, channel=Channel.UI,
                     source="", expected_version=None) -> list[tuple[str, str, str]]:
    """expected_version: the version the user's form or request was based on (None: no check,
    for callers that write on the row as it is now, such as an equipment allocation)."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    _check_version(household, expected_version)
    if household.archived:
        raise ValidationError({"__all__": ["该户已归档，请先恢复后再修改"]})
    cleaned = clean_household_data(data, instance=household, user=user)
    before = (household.village_id, household.plan_year)
    changes = set_values(household, cleaned)
    if changes:
        _check_lock(before, (household.village_id, household.plan_year))
        household.version += 1  # the row is locked until this transaction ends
        with asof.kept([household.pk] if COUNTED_FIELDS.intersection(name for name, _, _ in changes) else []):
            _save_unique(household)
        history.fields_changed(household=household, changes=changes, user=user, channel=channel, source=source)
    return changes


def _reason(value, label="原因", field="reason") -> str:
    """A reason or note typed with a write: one line, no control characters, within its column."""
    try:
        return inputs.text(value, label, max_length=REASON_LENGTH)
    except ValueError as exc:
        raise ValidationError({field: [str(exc)]}) from None


@transaction.atomic
def transition(household: Household, to_state: str, *, user=None, channel=Channel.UI,
               reason: str = "", occurred_on: date | None = None) -> LifecycleEvent:
    """Move one step forward, or back any number of steps with a reason."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.archived:
        raise ValidationError({"__all__": ["该户已归档，不能变更改造状态"]})
    _check_lock((household.village_id, household.plan_year))
    if not lifecycle.is_step(to_state):
        raise ValidationError({"to_state": [f"“{to_state}”不是有效的改造状态"]})
    reason = _reason(reason)
    occurred_on = occurred_on or timezone.localdate()
    if refusal := lifecycle.check_move(household.state, to_state, reason=reason, label=state_label):
        raise ValidationError({refusal.field: [refusal.message]})
    if occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": ["发生日期不能晚于今天"]})
    last = household.lifecycle_events.order_by("-id").first()
    if last and occurred_on < last.occurred_on:
        raise ValidationError({"occurred_on": [f"发生日期不能早于上一次状态变更（{last.occurred_on}）"]})
    if to_state == LifecycleState.SELECTED and household.heating_path == HeatingPath.ELECTRIC \
            and not household.electric_device:
        raise ValidationError({"to_state": ["煤改电用户须先填写煤改电设备类型才能标记为已选型"]})
    forward = lifecycle.index(to_state) > lifecycle.index(household.state)
    if forward and (problems := engine.for_transition(household, to_state, occurred_on)):
        raise ValidationError({k: [v] for k, v in problems.items()})  # 先立后破, 以气定改, heat sources
    event = lifecycle_event(household, to_state, occurred_on=occurred_on, user=user, channel=channel,
                            reason=reason, backstep=not forward)
    with asof.kept([household.pk]):
        event.save()
    household.version += 1
    history.state_changed(household=household, from_state=household.state, to_state=to_state,
                          user=user, channel=channel, reason=reason)
    household.state = to_state
    household.state_changed_at = timezone.now()
    household.save(update_fields=["state", "state_changed_at", "updated_at", "version"])
    return event


@transaction.atomic
def archive_household(household: Household, *, reason: str, user=None, channel=Channel.UI):
    household = Household.objects.select_for_update().get(pk=household.pk)
    reason = _reason(reason)
    if household.archived:
        raise ValidationError({"__all__": ["该户已归档"]})
    if not reason:
        raise ValidationError({"reason": ["归档必须填写原因"]})
    _check_lock((household.village_id, household.plan_year))
    household.archived, household.archived_at, household.archive_reason = True, timezone.now(), reason
    household.version += 1
    with asof.kept([household.pk]):
        household.save(update_fields=["archived", "archived_at", "archive_reason", "updated_at", "version"])
    history.archived(household=household, user=user, channel=channel, reason=reason)
    return household


@_records_holder_elsewhere
@transaction.atomic
def restore_household(household: Household, *, user=None, channel=Channel.UI, reason: str = ""):
    household = Household.objects.select_for_update().get(pk=household.pk)
    reason = _reason(reason)
    if not household.archived:
        raise ValidationError({"__all__": ["该户未归档"]})
    other = Household.objects.filter(id_number_hash=household.id_number_hash, archived=False).first()
    if other is not None and (user is None or in_scope(user, other.village_id)):
        raise ValidationError({"__all__": [f"户主已在户 {other.household_no} 登记，不能恢复本户"]})
    if other is not None:
        raise _refusal({"__all__": [HOLDER_ELSEWHERE]}, HolderElsewhere(
            id_hash=household.id_number_hash, id_masked=household.id_number_masked,
            region_code=household.village_id, other_region_code=other.village_id,
            other_household_no=other.household_no))
    household.archived, household.archived_at, household.archive_reason = False, None, ""
    household.version += 1
    with asof.kept([household.pk]):
        household.save(update_fields=["archived", "archived_at", "archive_reason", "updated_at", "version"])
    history.restored(household=household, user=user, channel=channel, reason=reason)
    return household


def reveal(household: Household, field: str, *, user, reason: str, request=None) -> str:
    """One full identifier for one household, for a stated reason; always audited."""
    if field not in REVEAL_PERMISSION:
        raise ValidationError({"field": ["无此字段"]})
    require_perm(user, REVEAL_PERMISSION[field])
    reason = _reason(reason, "事由")
    if not reason:
        raise ValidationError({"reason": ["查看完整信息须填写事由"]})
    value = pii.decrypt(getattr(household, f"{field}_cipher"))
    record("pii_reveal", request=request, user=user, region_code=household.village_id,
           target=household.household_no, detail=f"{field_label(field)}；事由：{reason}")
    return value


@transaction.atomic
def record_outage(household: Household, *, reported_on: date, resolved_on: date | None, description: str,
                  user=None, channel=Channel.UI):
    """An interruption of heating (停暖) on the household: typed on its page, or opened by a hotline ticket."""
    household = Household.objects.select_for_update().get(pk=household.pk)
    description = _reason(description, "停暖情况", field="description")
    if not description:
        raise ValidationError({"description": ["请填写停暖情况"]})
    today = timezone.localdate()
    if reported_on > today:
        raise ValidationError({"reported_on": ["停暖日期不能晚于今天"]})
    if resolved_on and resolved_on < reported_on:
        raise ValidationError({"resolved_on": ["修复日期不能早于停暖日期"]})
    if resolved_on and resolved_on > today:
        raise ValidationError({"resolved_on": ["修复日期不能晚于今天"]})
    outage = MaintenanceRecord.objects.create(household=household, reported_on=reported_on, resolved_on=resolved_on,
                                              description=description, is_outage=True)
    history.outage_recorded(household=household, summary=f"{reported_on}至{resolved_on or '未修复'}：{description}",
                            user=user, channel=channel)
    return outage


@transaction.atomic
def resolve_outage(outage: MaintenanceRecord, *, resolved_on: date, user=None, channel=Channel.UI) -> MaintenanceRecord:
    """Close an open outage (the hotline's ticket resolved): the day heating came back."""
    outage = MaintenanceRecord.objects.select_for_update().get(pk=outage.pk)
    if outage.resolved_on is not None:
        return outage
    if resolved_on < outage.reported_on:
        raise ValidationError({"resolved_on": ["修复日期不能早于停暖日期"]})
    outage.resolved_on = resolved_on
    outage.save(update_fields=["resolved_on"])
    history.outage_recorded(household=outage.household,
                            summary=f"{outage.reported_on}至{resolved_on}：{outage.description}（已修复）",
                            user=user, channel=channel)
    return outage


@transaction.atomic
def reopen_outage(outage: MaintenanceRecord, *, user=None, channel=Channel.UI) -> MaintenanceRecord:
    """An outage closed too early (the family says heating is still off): it runs on from its start."""
    outage = MaintenanceRecord.objects.select_for_update().get(pk=outage.pk)
    if outage.resolved_on is None:
        return outage
    outage.resolved_on = None
    outage.save(update_fields=["resolved_on"])
    history.outage_recorded(household=outage.household, summary=f"{outage.reported_on}起：{outage.description}（重开）",
                            user=user, channel=channel)
    return outage


def households_in(village_codes) -> dict:
    """Village code → number of households (active and archived) in it: what a region change moves."""
    counts = {}
    codes = sorted(village_codes)
    for start in range(0, len(codes), 500):
        for code, archived in Household.objects.filter(village_id__in=codes[start:start + 500]) \
                .values_list("village_id", "archived").iterator():
            active, stored = counts.get(code, (0, 0))
            counts[code] = (active + (not archived), stored + 1)
    return counts


@transaction.atomic
def apply_region_change(change: RegionChange, *, user=None, channel=Channel.UI) -> dict:
    """Apply a recorded region change as a whole: the regions (`regions.services.apply_regions`),
    then every household of a re-coded village moves to the village's new code, with a history row
    naming the change. Returns and keeps the counts (villages, households)."""
    result = region_changes.apply_regions(change, user=user)
    source = f"区划调整（{change.get_kind_display()}，{change.effective_on}起）{change.note}"[:SOURCE_LENGTH]
    moved = _move_villages(result.villages, user=user, channel=channel, source=source)
    change.summary = {"villages": len(result.villages), "households": moved, "lines": result.describe()}
    change.save(update_fields=["summary"])
    return change.summary


def _move_villages(moves: dict, *, user, channel, source) -> int:
    """Every household of each old village code to its new code (archived ones too: the old village
    is retired), version raised, one history row each."""
    now, moved = timezone.now(), 0
    old_codes = sorted(moves)
    for start in range(0, len(old_codes), 500):
        households = list(Household.objects.select_for_update().filter(village_id__in=old_codes[start:start + 500]))
        entries = []
        for household in households:
            old = household.village_id
            household.village_id, household.version, household.updated_at = moves[old], household.version + 1, now
            entries += history.change_entries(household=household, changes=[("village", old, moves[old])],
                                              user=user, channel=channel, source=source)
        with asof.kept([h.pk for h in households]):
            Household.objects.bulk_update(households, ["village", "version", "updated_at"], batch_size=500)
        history.entries_written(entries)
        moved += len(households)
    return moved
