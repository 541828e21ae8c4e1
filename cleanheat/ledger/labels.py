"""How the ledger's fields and stored history values read to a person (labels, choice names, 是/否).

Kept apart from the services so that models and history import no write path."""
from dataclasses import dataclass
from datetime import datetime

from cleanheat.rules.models import HeatSource

from .choices import BOOL_FIELDS, ENUMS, Channel, LifecycleState
from .models import Household

# History rows that are not a field of the household.
EVENT_LABELS = {"state": "改造状态", "archived": "归档", "created": "建档", "outage": "停暖记录",
                "equipment": "分配设备", "energy_reading": "能耗读数",
                "subsidy_declaration": "补贴申报"}
PII_LABELS = {"id_number": "身份证号", "phone": "联系电话", "bank_account": "补贴发放账号",
              "electricity_account": "电力户号", "gas_account": "燃气户号"}


def field_label(name: str) -> str:
    if name in PII_LABELS:
        return PII_LABELS[name]
    if name in EVENT_LABELS:
        return EVENT_LABELS[name]
    return str(Household._meta.get_field(name).verbose_name)


def state_label(step: str) -> str:
    """A lifecycle step as a person reads it (the `label` the lifecycle rule's messages take)."""
    return str(LifecycleState(step).label)


def display_value(name: str, value: str, heat_sources: dict | None = None) -> str:
    """A stored history value as a person reads it (choice codes become their labels).
    heat_sources: {id: name} already loaded for a list (None: looked up)."""
    enum = ENUMS.get(name) or (LifecycleState if name == "state" else None)
    if enum is not None and value in enum.values:
        return str(enum(value).label)
    if name in BOOL_FIELDS and value in ("True", "False"):
        return "是" if value == "True" else "否"
    if name == "heat_source" and value.isdigit():
        if heat_sources is None:
            heat_sources = dict(HeatSource.objects.filter(pk=value).values_list("pk", "name"))
        return heat_sources.get(int(value)) or value
    return value


@dataclass(frozen=True)
class HistoryLine:
    """One row of a household's 变更记录 as shown."""
    changed_at: datetime
    user: object
    channel_label: str
    field_label: str
    old_display: str
    new_display: str
    source: str


def history_lines(changes) -> list[HistoryLine]:
    """HouseholdChange rows as people read them, heat-source names loaded in one query."""
    changes = list(changes)
    ids = {int(v) for c in changes if c.field == "heat_source" for v in (c.old_value, c.new_value) if v.isdigit()}
    sources = dict(HeatSource.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    return [HistoryLine(c.changed_at, c.user, str(Channel(c.channel).label) if c.channel in Channel.values else c.channel,
                        field_label(c.field), display_value(c.field, c.old_value, sources),
                        display_value(c.field, c.new_value, sources), c.source) for c in changes]
