"""The single door for every write to the ledger: UI, API, import and CLI all call these.

Each function validates (raising django ValidationError keyed by field, messages in Chinese),
applies the rules, and writes the change together with its history in one transaction:
either all of it lands or nothing does.
"""
import inspect
import re
from datetime import date
from functools import lru_cache, wraps
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from cleanheat import inputs, pii
from cleanheat.audit.services import HolderElsewhere, record_duplicates
from cleanheat.regions.codes import VILLAGE
from cleanheat.regions.models import Region
from cleanheat.regions.scope import in_scope, user_prefix
from cleanheat.sheets.cells import as_date
from cleanheat.versions import Change, StaleEdit

from . import history, identity
from .choices import (STATE_ORDER, Channel, ElectricDevice, HeatingPath, LifecycleState,
                      OriginalFacility, Structure)
from .models import Household, HouseholdNumberSequence, LifecycleEvent

# Fields a caller may set, in display order. id_number/phone are plaintext on input only.
EDITABLE_FIELDS = [
    "village", "householder_name", "id_number", "phone", "bank_account", "address", "household_size",
    "is_dibao", "is_tekun", "is_tuopin", "is_canji",
    "heated_area", "structure", "envelope_retrofitted", "envelope_gain_pct",
    "original_facility", "heating_path", "electric_device", "heat_source", "removal_consent_on",
]
REQUIRED_ON_CREATE = ["village", "householder_name", "id_number", "heated_area",
                      "original_facility", "heating_path"]
BOOL_FIELDS = {"is_dibao", "is_tekun", "is_tuopin", "is_canji", "envelope_retrofitted"}
ENUMS = {
    "structure": Structure, "original_facility": OriginalFacility,
    "heating_path": HeatingPath, "electric_device": ElectricDevice,
}
# Words county sheets use for the same values.
ENUM_ALIASES = {
    HeatingPath: {"集中供热": "central", "工业余热": "central", "热电联产": "central", "电代煤": "electric",
                  "气代煤": "gas", "生物质": "biomass", "生物质热电联产": "biomass", "空气源热泵": "electric",
                  "多能互补试点": "multi"},
    Structure: {"砖混结构": "brick_concrete", "砖木结构": "brick_wood", "土木": "adobe", "土坯房": "adobe",
                "框架结构": "frame"},
    OriginalFacility: {"煤炉": "coal_stove", "燃煤炉具": "coal_stove", "炕": "kang", "土炕": "kang",
                       "燃煤锅炉": "coal_boiler", "小锅炉": "coal_boiler"},
    LifecycleState: {"确村": "confirmed", "已确户": "confirmed", "选型": "selected", "在建": "installing",
                     "施工": "installing", "完工": "installed", "已竣工": "installed", "验收": "accepted",
                     "已拆除": "removed"},
}

# Personal identifiers: stored encrypted + keyed hash + mask; history keeps only the mask.
PII_FIELDS = {
    "id_number": ("id", identity.mask_id_number),
    "phone": ("phone", identity.mask_mobile),
    "bank_account": ("bank", identity.mask_bank_account),
}
# A householder outside the caller's area: refused without naming that household or its area.
HOLDER_ELSEWHERE = "该身份证号已在其他地区登记为户主，请联系县级管理员核实"
HEAT_SOURCE_ID = re.compile(r"\d{1,18}")  # a heat source named by its id (fits the database's integer)
TRUE_WORDS = {"1", "true", "yes", "y", "是", "√", "✓", "有", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "", "无", "off", "none"}


def field_label(name: str) -> str:
    if name == "id_number":
        return "身份证号"
    if name == "phone":
        return "联系电话"
    if name == "bank_account":
        return "补贴发放账号"
    if name in ("state", "archived", "created", "outage", "equipment"):
        return {"state": "改造状态", "archived": "归档", "created": "建档", "outage": "停暖记录",
                "equipment": "分配设备"}[name]
    return str(Household._meta.get_field(name).verbose_name)


def display_value(name: str, value: str) -> str:
    """A stored history value as a person reads it (choice codes become their labels)."""
    enum = ENUMS.get(name) or (LifecycleState if name == "state" else None)
    if enum is not None and value in enum.values:
        return str(enum(value).label)
    if name in BOOL_FIELDS and value in ("True", "False"):
        return "是" if value == "True" else "否"
    if name == "heat_source" and value.isdigit():
        from cleanheat.rules.models import HeatSource
        return HeatSource.objects.filter(pk=value).values_list("name", flat=True).first() or value
    return value


@lru_cache(maxsize=32)
def _enum_lookup(enum, language: str) -> dict:
    """Every spelling a clerk may use for each member: code, Chinese label, current-language label,
    usual aliases; built once per language, since imports ask it for every row."""
    lookup = {}
    with translation.override("zh-hans"):
        lookup.update({identity.normalise_text(m.label): m.value for m in enum})
    lookup.update({identity.normalise_text(m.label): m.value for m in enum})
    lookup.update(ENUM_ALIASES.get(enum, {}))
    lookup.update({m.value: m.value for m in enum})
    return lookup


def enum_value(value, enum, label):
    """Accept the code, the Chinese label, or a usual alias (what a clerk would type)."""
    text = identity.normalise_text(value)
    if not text:
        with translation.override("zh-hans"):
            raise ValueError(f"请选择{label() if callable(label) else label}")
    found = _enum_lookup(enum, translation.get_language()).get(text)
    if found is not None:
        return found
    allowed = "、".join(str(m.label) for m in enum)
    raise ValueError(f"“{text}”不是有效的{label() if callable(label) else label}，可选：{allowed}")


def _bool(value):
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"“{value}”应填“是”或“否”")


class Lookups:
    """What validation needs from the database. One row at a time this asks the database;
    a batch (an import) passes a subclass that answers from dictionaries loaded once."""

    def village(self, code: str):
        return Region.objects.filter(code=code).first()

    def active_holder(self, id_hash: str, exclude_pk=None):
        """(household_no, village_code) of the active household this person heads, if any."""
        qs = Household.objects.filter(id_number_hash=id_hash, archived=False)
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        return qs.values_list("household_no", "village_id").first()

    def region_name(self, code: str) -> str:
        return Region.objects.filter(code=code).values_list("name", flat=True).first() or code

    def heat_source(self, value):
        from cleanheat.rules.models import HeatSource
        text = str(value).strip()
        return HeatSource.objects.filter(pk=int(text)).first() if HEAT_SOURCE_ID.fullmatch(text) else \
            HeatSource.objects.filter(name=text).first()


AREA_UNITS = ("㎡", "m²", "m2", "平方米", "平米", "平方")
AREA_RANGE = (Decimal("1"), Decimal("2000"))
SIZE_RANGE = (1, 30)
GAIN_RANGE = (0, 100)
NAME_LENGTH = Household._meta.get_field("householder_name").max_length
ADDRESS_LENGTH = Household._meta.get_field("address").max_length
REASON_LENGTH = LifecycleEvent._meta.get_field("reason").max_length  # = archive_reason, HouseholdChange.source
VILLAGE_CODE = re.compile(r"\d{12}")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def required_message(name: str) -> str:
    """What an empty required field says (in Chinese, as every refusal here): pick from a list, or type it in."""
    with translation.override("zh-hans"):
        return f"{'请选择' if name == 'village' or name in ENUMS else '请填写'}{field_label(name)}"


def _clean_field(name, value, user, lookups):
    if name in REQUIRED_ON_CREATE and _blank(value):
        raise ValueError(required_message(name))
    if name == "village":
        code = value.code if isinstance(value, Region) else identity.normalise_text(value)
        region = lookups.village(code) if VILLAGE_CODE.fullmatch(code) else None
        if region is None or region.level != VILLAGE:
            raise ValueError(f"“{inputs.shown(code)}”不是已登记的村（社区）区划代码")
        if user is not None and not in_scope(user, region.code):
            raise ValueError(f"“{code}”不在您的管辖范围内")
        return region
    if name == "householder_name":
        return inputs.text(value, "户主姓名", max_length=NAME_LENGTH, required=True)
    if name == "id_number":
        return identity.normalise_id_number(value)
    if name == "phone":
        return identity.normalise_mobile(value) if identity.normalise_text(value) else ""
    if name == "bank_account":
        return identity.normalise_bank_account(value) if identity.normalise_text(value) else ""
    if name == "address":
        return inputs.text(value, field_label("address"), max_length=ADDRESS_LENGTH)
    if name == "envelope_gain_pct":
        if _blank(value) or str(value).strip() in ("%", "％"):
            return None
        gain = inputs.integer(value, "能效提升", units=("%",), what="整数百分数（如 35）")
        if not GAIN_RANGE[0] <= gain <= GAIN_RANGE[1]:
            raise ValueError(f"能效提升应在{GAIN_RANGE[0]}到{GAIN_RANGE[1]}之间")
        return gain
    if name == "household_size":
        size = inputs.integer(value, "家庭人口")
        if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
            raise ValueError(f"家庭人口应在{SIZE_RANGE[0]}到{SIZE_RANGE[1]}人之间")
        return size
    if name in BOOL_FIELDS:
        return _bool(value)
    if name == "heated_area":
        area = inputs.decimal(value, "采暖面积", places=1, units=AREA_UNITS, what="数字（平方米）")
        if not AREA_RANGE[0] <= area <= AREA_RANGE[1]:
            raise ValueError(f"采暖面积{area}㎡不合理，应在{AREA_RANGE[0]}到{AREA_RANGE[1]}平方米之间")
        return area
    if name == "electric_device" and not str(value or "").strip():
        return ""
    if name == "heat_source":
        from cleanheat.rules.models import HeatSource
        if _blank(value):
            return None
        if not isinstance(value, HeatSource):
            value = inputs.text(value, "热源")
        source = value if isinstance(value, HeatSource) else lookups.heat_source(value)
        if source is None or user is not None and not source.county_code.startswith(user_prefix(user)[:6]):
            raise ValueError(f"“{value}”不是已登记的热源，请先在热源登记中登记")
        return source
    if name == "removal_consent_on":
        consent = as_date(value)
        if consent and consent > timezone.localdate():
            raise ValueError("居民同意日期不能晚于今天")
        return consent
    if name in ENUMS:
        return enum_value(value, ENUMS[name], lambda: field_label(name))
    raise ValueError(f"未知字段 {name}")


def clean_household_data(data: dict, *, instance: Household | None = None, user=None,
                         lookups: Lookups | None = None, state: str | None = None) -> dict:
    """Validate input for a create (instance=None) or an update; return cleaned values.

    Raises ValidationError({field: [message]}) listing every problem at once."""
    lookups = lookups or Lookups()
    errors, cleaned = {}, {}
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        errors["__all__"] = [f"不能修改的字段：{'、'.join(sorted(unknown))}"]
    for name in EDITABLE_FIELDS:
        if name not in data:
            if instance is None and name in REQUIRED_ON_CREATE:
                errors[name] = [required_message(name)]
            continue
        try:
            cleaned[name] = _clean_field(name, data[name], user, lookups)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError(errors)

    path = cleaned.get("heating_path", instance.heating_path if instance else None)
    device = cleaned.get("electric_device", instance.electric_device if instance else "")
    state = state or (instance.state if instance else LifecycleState.CONFIRMED)
    if path != HeatingPath.ELECTRIC and device:
        cleaned["electric_device"] = ""  # a device type only belongs to 煤改电
    elif path == HeatingPath.ELECTRIC and not device and STATE_ORDER.index(state) >= 1:
        errors["electric_device"] = ["煤改电用户已选型，须填写煤改电设备类型"]

    elsewhere = None
    if "id_number" in cleaned:
        id_hash = pii.blind_index(cleaned["id_number"], "id")
        other = lookups.active_holder(id_hash, exclude_pk=instance.pk if instance else None)
        if other is not None:
            number, village = other
            if user is None or in_scope(user, village):
                errors["id_number"] = [f"该身份证号已是户 {number}（{lookups.region_name(village)}）的户主，"
                                       "同一人不能同时为两户户主"]
            else:
                errors["id_number"] = [HOLDER_ELSEWHERE]
                elsewhere = HolderElsewhere(
                    id_hash=id_hash, id_masked=identity.mask_id_number(cleaned["id_number"]),
                    region_code=cleaned["village"].code if "village" in cleaned else instance.village_id,
                    other_region_code=village, other_household_no=number)
    if instance is not None and "village" in cleaned and user is not None \
            and not in_scope(user, instance.village_id):
        errors["village"] = ["该户不在您的管辖范围内"]
    if not errors:  # the plan's rules, on the household as it would be after this write
        from cleanheat.rules import engine
        village = cleaned["village"].code if "village" in cleaned else instance.village_id
        entering = instance is None or cleaned.get("heating_path", instance.heating_path) != instance.heating_path \
            or village != instance.village_id
        retrofitted = cleaned.get("envelope_retrofitted", instance.envelope_retrofitted if instance else False)
        gain = cleaned["envelope_gain_pct"] if "envelope_gain_pct" in cleaned else \
            (instance.envelope_gain_pct if instance else None)
        if problem := engine.retrofit_problem(retrofitted, gain, village):
            errors.setdefault("envelope_gain_pct", [problem])
        for field, message in engine.for_state(
                instance, path=path, village_code=village,
                area=cleaned.get("heated_area", instance.heated_area if instance else 0), state=state,
                heat_source=cleaned["heat_source"] if "heat_source" in cleaned else (instance.heat_source if instance else None),
                entering=entering).items():
            errors.setdefault(field, [message])
    if errors:
        raise _refusal(errors, elsewhere)
    return cleaned


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


def _apply(household: Household, cleaned: dict) -> list[tuple[str, str, str]]:
    """Set cleaned values on the model; return (field, old, new) for what really changed."""
    changes = []
    for name, value in cleaned.items():
        if name in PII_FIELDS:
            kind, mask = PII_FIELDS[name]
            new_hash = pii.blind_index(value, kind)
            if new_hash != getattr(household, f"{name}_hash"):
                old = getattr(household, f"{name}_masked")
                setattr(household, f"{name}_cipher", pii.encrypt(value))
                setattr(household, f"{name}_hash", new_hash)
                setattr(household, f"{name}_masked", mask(value) if value else "")
                changes.append((name, old, getattr(household, f"{name}_masked")))
        elif name == "village":
            if household.village_id != value.code:
                changes.append((name, household.village_id or "", value.code))
                household.village = value
        elif name == "heat_source":
            new_id = value.pk if value is not None else None
            if household.heat_source_id != new_id:
                changes.append((name, str(household.heat_source_id or ""), str(new_id or "")))
                household.heat_source = value
        else:
            old = getattr(household, name)
            if old != value:
                setattr(household, name, value)
                changes.append((name, "" if old is None else str(old), "" if value is None else str(value)))
    return changes


STALE_MESSAGE = "此户已被他人修改，您的修改未保存。请核对他人的修改后重新提交。"


def changes_since(household: Household, version: int) -> list[Change]:
    """What was written to the household after the version a user saw, oldest first."""
    rows = household.changes.filter(version__gt=version).select_related("user").order_by("id")
    return [Change(c.field_label, c.old_display, c.new_display, str(c.user or "系统"), c.changed_at)
            for c in rows]


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


def next_household_no(county_code: str) -> str:
    """County code + 7-digit serial, never reused (row lock serialises concurrent creators)."""
    seq, _ = HouseholdNumberSequence.objects.select_for_update().get_or_create(county_code=county_code)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{county_code}{seq.last:07d}"


@_records_holder_elsewhere
@transaction.atomic
def create_household(data: dict, *, user=None, channel=Channel.UI, source="") -> Household:
    cleaned = clean_household_data(data, user=user)
    household = Household(state=LifecycleState.CONFIRMED, state_changed_at=timezone.now())
    _apply(household, cleaned)
    household.household_no = next_household_no(household.village_id[:6])
    _save_unique(household)
    history.household_created(household=household, user=user, channel=channel, source=source)
    LifecycleEvent.objects.create(household=household, from_state="", to_state=household.state,
                                  occurred_on=timezone.localdate(), user=user, channel=channel,
                                  reason="建档")
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
    changes = _apply(household, cleaned)
    if changes:
        household.version += 1  # the row is locked until this transaction ends
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
    if to_state not in STATE_ORDER:
        raise ValidationError({"to_state": [f"“{to_state}”不是有效的改造状态"]})
    current, target = STATE_ORDER.index(household.state), STATE_ORDER.index(to_state)
    label = LifecycleState(to_state).label
    reason = _reason(reason)
    occurred_on = occurred_on or timezone.localdate()
    if target == current:
        raise ValidationError({"to_state": [f"该户已处于“{label}”状态"]})
    if target > current + 1:
        expected = LifecycleState(STATE_ORDER[current + 1]).label
        raise ValidationError({"to_state": [
            f"不能跳过状态：当前为“{household.get_state_display()}”，下一步只能是“{expected}”"]})
    if target < current and not reason:
        raise ValidationError({"reason": ["回退改造状态必须填写原因"]})
    if occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": ["发生日期不能晚于今天"]})
    last = household.lifecycle_events.order_by("-id").first()
    if last and occurred_on < last.occurred_on:
        raise ValidationError({"occurred_on": [f"发生日期不能早于上一次状态变更（{last.occurred_on}）"]})
    if to_state == LifecycleState.SELECTED and household.heating_path == HeatingPath.ELECTRIC \
            and not household.electric_device:
        raise ValidationError({"to_state": ["煤改电用户须先填写煤改电设备类型才能标记为已选型"]})
    if target > current:  # the plan's rules (先立后破, 以气定改, heat sources)
        from cleanheat.rules import engine
        problems = engine.for_transition(household, to_state, occurred_on)
        if problems:
            raise ValidationError({k: [v] for k, v in problems.items()})
    event = LifecycleEvent.objects.create(
        household=household, from_state=household.state, to_state=to_state,
        occurred_on=occurred_on, user=user, channel=channel, reason=reason,
        is_backstep=target < current)
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
    household.archived, household.archived_at, household.archive_reason = True, timezone.now(), reason
    household.version += 1
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
    household.save(update_fields=["archived", "archived_at", "archive_reason", "updated_at", "version"])
    history.restored(household=household, user=user, channel=channel, reason=reason)
    return household


REVEAL_PERMISSION = {"id_number": "pii.reveal_id", "phone": "pii.reveal_phone", "bank_account": "pii.reveal_bank"}


def reveal(household: Household, field: str, *, user, reason: str, request=None) -> str:
    """One full identifier for one household, for a stated reason; always audited."""
    from cleanheat.access import require_perm
    from cleanheat.audit.services import record

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
    """An interruption of heating (停暖) on the household, until the hotline module records them."""
    from .models import MaintenanceRecord
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
    record = MaintenanceRecord.objects.create(household=household, reported_on=reported_on, resolved_on=resolved_on,
                                              description=description, is_outage=True)
    history.outage_recorded(household=household, summary=f"{reported_on}至{resolved_on or '未修复'}：{description}",
                            user=user, channel=channel)
    return record
