"""One row of a ledger sheet checked the way a form is: which household it names, the service's own
validation, the lifecycle's one rule and the plan's rules. Phrases every message a clerk reads."""
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from cleanheat import pii
from cleanheat.audit.services import HolderElsewhere
from cleanheat.ledger import identity, lifecycle, records, services
from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.cleaning import Lookups, enum_value
from cleanheat.ledger.labels import state_label
from cleanheat.ledger.models import Household
from cleanheat.rules import engine as rules_engine
from cleanheat.sheets.cells import as_date, as_text

from .places import VillageFinder, location_column, plain, village_of


@dataclass
class RowResult:
    number: int                      # the row number a clerk sees in Excel (1-based)
    action: str = "refused"          # new / updated / unchanged / refused
    errors: list = field(default_factory=list)   # (column index or None, message)
    household: Household | None = None
    changes: list = field(default_factory=list)
    new_state: str | None = None
    state_date: object = None
    raw: list | None = None          # the row's cells, kept for the error report when refused
    holder_elsewhere: HolderElsewhere | None = None  # a householder outside the uploader's area (audited)

    def refuse(self, column, message):
        self.errors.append((column, message))


@dataclass
class RowContext:
    """What checking rows one by one needs, for the whole file."""
    user: object
    columns: dict                    # column index → field
    lookups: Lookups
    finder: VillageFinder
    by_number: dict                  # household_no → Household of the uploader's scope
    by_id_hash: dict                 # id_number_hash → Household of the uploader's scope
    seen_ids: dict = field(default_factory=dict)       # id hash → the row that named it first
    seen_numbers: dict = field(default_factory=dict)   # household_no → the row that named it first

    def __post_init__(self):
        self.col_of = {f: c for c, f in self.columns.items()}


def check_row(row: list, number: int, context: RowContext) -> RowResult:
    res = RowResult(number=number)
    values = {f: as_text(row[c]) if c < len(row) else "" for c, f in context.columns.items()}
    household, known = _named_household(values, number, context, res)
    if not known:
        return res
    data = _service_input(values, household, context, res)
    if household is None and "id_number" in data:
        household = _by_id_number(data["id_number"], number, context, res)
    state = _state_of(values, row, context, res)
    _check_move(household, state, res, context)
    try:
        if household is None and "village" not in data and not res.errors:
            raise ValidationError({"village": ["未填写所属村（社区）"]})
        cleaned = services.clean_household_data(data, instance=household, user=context.user,
                                                lookups=context.lookups,
                                                state=state or (household.state if household else None))
    except ValidationError as error:
        _report(error, res, context)
        return res
    if res.errors:
        return res
    if household is None:
        res.household = records.new_household(cleaned, state=state or lifecycle.FIRST, now=None)
        res.action, res.new_state = "new", res.household.state
    else:
        res.household = household
        res.changes = records.set_values(household, cleaned)
        if state and state != household.state:
            res.new_state = state
        res.action = "updated" if res.changes or res.new_state else "unchanged"
    return res


def _named_household(values, number, context, res):
    """(household, True) for the household the row's number names, (None, True) for none;
    (None, False) when the number is unknown or repeated (the row is refused)."""
    if not values.get("household_no"):
        return None, True
    no = plain(values["household_no"])
    household = context.by_number.get(no)
    column = context.col_of["household_no"]
    if household is None:
        res.refuse(column, f"户编号“{no}”不存在或不在您的管辖范围内")
        return None, False
    if no in context.seen_numbers:
        res.refuse(column, f"与第{context.seen_numbers[no]}行的户编号重复")
        return None, False
    context.seen_numbers[no] = number
    return household, True


def _service_input(values, household, context, res) -> dict:
    """The service's input from the columns present: an empty cell leaves an existing value as it
    is, and so does the mask of an identifier our own export writes."""
    data = {}
    for f in services.EDITABLE_FIELDS:
        if f in values and f != "village":
            text = values[f]
            if household is not None:
                if not text or (f in records.PII_FIELDS and text == getattr(household, f"{f}_masked")):
                    continue
            elif not text and f not in services.REQUIRED_ON_CREATE:
                continue
            data[f] = text
    try:
        if village := village_of(values, context.finder):
            data["village"] = village
    except ValueError as exc:
        res.refuse(location_column(context.col_of), str(exc))
    return data


def _by_id_number(text, number, context, res):
    """The household of the uploader's scope this ID number heads; a second row naming it is refused."""
    try:
        id_hash = pii.blind_index(identity.normalise_id_number(text), "id")
    except ValueError:
        return None  # the service reports it
    if id_hash in context.seen_ids:
        res.refuse(context.col_of.get("id_number"), f"与第{context.seen_ids[id_hash]}行的身份证号重复")
    context.seen_ids[id_hash] = number
    return context.by_id_hash.get(id_hash)


def _state_of(values, row, context, res):
    """The row's lifecycle state (None: not given) and, on res, the day it was reached."""
    col_of, state = context.col_of, None
    if values.get("state"):
        try:
            state = enum_value(values["state"], LifecycleState, "改造状态")
        except ValueError as exc:
            res.refuse(col_of["state"], str(exc))
    column = col_of.get("state_date")
    try:
        res.state_date = as_date(row[column]) if column is not None and column < len(row) else None
        if res.state_date and res.state_date > timezone.localdate():
            res.refuse(column, "状态日期不能晚于今天")
    except ValueError as exc:
        res.refuse(column, str(exc))
    return state


def _check_move(household, state, res, context):
    """The lifecycle's one rule (an import never moves back), then the plan's rules for the move."""
    column = context.col_of.get("state")
    if household is None:
        if state and (refusal := lifecycle.check_start(state, label=state_label)):
            res.refuse(column, refusal.message)
        return
    if not state or state == household.state:
        return
    if refusal := lifecycle.check_move(household.state, state, label=state_label, backward=False):
        res.refuse(column, refusal.message)
        return
    on = res.state_date or timezone.localdate()
    for message in rules_engine.for_transition(household, state, on).values():
        res.refuse(column, message)


def _report(error: ValidationError, res: RowResult, context: RowContext) -> None:
    """The service's refusal on the row's columns (a place problem already reported is not repeated)."""
    res.holder_elsewhere = getattr(error, "holder_elsewhere", None)
    where = location_column(context.col_of)
    location_reported = any(col == where for col, _ in res.errors)
    for f, messages in error.message_dict.items():
        if f == "village" and location_reported:
            continue
        col = where if f == "village" else context.col_of.get(f)
        res.errors.extend((col, m) for m in messages)
