"""One row of a ledger sheet checked the way a form is: which household it names, the service's own
validation, the lifecycle's one rule and the plan's rules. Phrases every message a clerk reads."""
import copy
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from cleanheat import pii
from cleanheat.audit.services import HolderElsewhere
from cleanheat.inspections import evidence
from cleanheat.ledger import identity, lifecycle, records, services
from cleanheat.ledger.choices import LifecycleState
from cleanheat.ledger.cleaning import Lookups, clean_field, enum_value, implied_device
from cleanheat.ledger.models import Household
from cleanheat.rules import engine as rules_engine
from cleanheat.sheets.cells import as_date, as_text

from .dates import DATE_FIELDS, SHEET_DATES, STEP_OF, plan_row
from .places import VillageFinder, location_column, place_of, plain, village_of


# The keys a row is matched to an existing household by, in order, as the dry run names them.
MATCH_KEYS = {"household_no": "户编号", "electricity_account": "电力户号", "gas_account": "燃气户号",
              "id_number": "身份证号", "name_village": "姓名+村"}


@dataclass
class RowResult:
    number: int                      # the row number a clerk sees in Excel (1-based)
    action: str = "refused"          # new / updated / unchanged / refused
    errors: list = field(default_factory=list)   # (column index or None, message)
    household: Household | None = None
    changes: list = field(default_factory=list)
    steps: tuple = ()                # the lifecycle steps it moves through: ((step, day or None), …)
    notes: list = field(default_factory=list)    # what the dry run tells the clerk (not refusals)
    undated: bool = False            # several steps, in a sheet without step date columns
    raw: list | None = None          # the row's cells, kept for the report when refused or noted
    holder_elsewhere: HolderElsewhere | None = None  # a householder outside the uploader's area (audited)
    matched_by: str = ""             # the key that found the existing household (MATCH_KEYS), "" for none

    def refuse(self, column, message):
        self.errors.append((column, message))

    @property
    def new_state(self) -> str | None:
        return self.steps[-1][0] if self.steps else None


@dataclass
class RowContext:
    """What checking rows one by one needs, for the whole file."""
    user: object
    columns: dict                    # column index → field
    lookups: Lookups
    finder: VillageFinder
    by_number: dict                  # household_no → Household of the uploader's scope
    by_id_hash: dict                 # id_number_hash → Household of the uploader's scope
    by_account: dict = field(default_factory=dict)     # account field → {keyed hash → Household of the scope}
    by_name: dict = field(default_factory=dict)        # (village code, name) → [Household of the scope]
    defaults: dict = field(default_factory=dict)       # field the sheet lacks → the value for new households
    last_moved: dict = field(default_factory=dict)     # household pk → the day of its last lifecycle move
    seen_ids: dict = field(default_factory=dict)       # id hash → the row that named it first
    seen_numbers: dict = field(default_factory=dict)   # household_no → the row that named it first

    def __post_init__(self):
        self.col_of = {f: c for c, f in self.columns.items()}
        self.date_columns = [(f, c) for c, f in sorted(self.columns.items()) if f in SHEET_DATES]
        self.step_columns = any(f != "state_date" for f, _ in self.date_columns)
        self.today = timezone.localdate()


def check_row(row: list, number: int, context: RowContext) -> RowResult:
    res = RowResult(number=number)
    values = {f: as_text(row[c]) if c < len(row) else "" for c, f in context.columns.items()}
    household, known = _named_household(values, number, context, res)
    if not known:
        return res
    if household is not None:
        res.matched_by = "household_no"
    else:
        household = _matched(values, number, context, res)
    data = _service_input(values, household, context, res)
    if _moves_county(household, data, context, res):
        return res
    _what_the_sheet_implies(values, data, household, context)
    state = _moves(values, row, household, context, res)
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
        res.action = "new"
        places = [(res.household.village_id, res.household.plan_year)]
    else:
        places = [(household.village_id, household.plan_year)]
        res.household = household
        res.changes = records.set_values(household, cleaned)
        res.action = "updated" if res.changes or res.steps else "unchanged"
        places.append((household.village_id, household.plan_year))
    if res.action != "unchanged":
        for village, year in places:
            if problem := rules_engine.lock_problem(village, year):
                res.refuse(None, problem)
                res.action = "refused"
                break
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
        village, note = place_of(values, context.finder)
        if village:
            data["village"] = village
        if note:
            res.notes.append(note)
    except ValueError as exc:
        res.refuse(location_column(context.col_of), str(exc))
    return data


def _matched(values, number, context, res):
    """The existing household a row without a household number is about: by utility account number
    (电力户号, then 燃气户号), then by ID number, then — for a row without an ID number — by the
    householder's name in the village. res.matched_by says which key found it."""
    for name in records.ACCOUNT_FIELDS:
        household = _by_account(name, values.get(name), context)
        if household is not None:
            res.matched_by = name
            return household
    if values.get("id_number"):
        household = _by_id_number(values["id_number"], number, context, res)
        res.matched_by = "id_number" if household is not None else ""
        return household
    household = _by_name(values, context, res)
    res.matched_by = "name_village" if household is not None else ""
    return household


def _moves_county(household, data, context, res) -> bool:
    """A row found its household by account, ID number or name, but places it in another county:
    refused, and flagged for both counties (跨地区重复登记) rather than moved or duplicated. A row
    naming the household number asks for the move itself."""
    if household is None or res.matched_by == "household_no" or not data.get("village") \
            or data["village"][:6] == household.village_id[:6]:
        return False
    where = context.lookups.region_name(household.village_id[:6].ljust(12, "0"))
    res.refuse(location_column(context.col_of),
               f"按{MATCH_KEYS[res.matched_by]}对应的户 {household.household_no} 在{where}，与本行所填县不同；"
               "跨县变更请两地县级管理员核实后办理")
    res.holder_elsewhere = HolderElsewhere(id_hash=household.id_number_hash, id_masked=household.id_number_masked,
                                           region_code=data["village"], other_region_code=household.village_id,
                                           other_household_no=household.household_no)
    return True


def _by_account(name, text, context):
    """The household of the uploader's scope holding this utility account (None: none, or not an account)."""
    if not text:
        return None
    try:
        account = clean_field(name, text)
    except ValueError:
        return None  # the service reports it
    return context.by_account.get(name, {}).get(pii.blind_index(account, records.PII_FIELDS[name][0]))


def _by_name(values, context, res):
    """The one household of the village whose householder has the row's name; two or more: refused."""
    name = " ".join((values.get("householder_name") or "").split())
    try:
        village = village_of(values, context.finder)
    except ValueError:
        return None  # reported with the row's place
    found = context.by_name.get((village, name), []) if name and village else []
    if len(found) > 1:
        res.refuse(context.col_of.get("householder_name"),
                   f"本村有{len(found)}户户主名为“{name}”，请填写户编号、电力户号、燃气户号或身份证号以区分")
    return found[0] if len(found) == 1 else None


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


def _what_the_sheet_implies(values, data, household, context) -> None:
    """Values a new household (or an empty field) takes from elsewhere in the sheet: the device type
    the path cell names (空气源热泵), and the value picked for a column the whole file lacks."""
    device = implied_device(values.get("heating_path"))
    if device and not values.get("electric_device") and (household is None or not household.electric_device):
        data["electric_device"] = device
    if household is None:
        for name, value in context.defaults.items():
            if not values.get(name):
                data[name] = value


def _moves(values, row, household, context, res):
    """The step the row brings the household to (None: no move given) and, on res, the steps it
    moves through with their days: the state column and the date columns through the lifecycle's
    one rule, then the plan's rules for each move of an existing household."""
    col_of, state, bad = context.col_of, None, False
    if values.get("state"):
        try:
            state = enum_value(values["state"], LifecycleState, "改造状态")
        except ValueError as exc:
            res.refuse(col_of["state"], str(exc))
            bad = True
    days, state_day = {}, None
    for name, column in context.date_columns:
        try:
            day = as_date(row[column]) if column < len(row) else None
        except ValueError as exc:
            res.refuse(column, str(exc))
            bad = True
            continue
        if name == "state_date":
            state_day = day
        elif day is not None:
            days[STEP_OF[name]] = day
    if bad:
        return None
    current = household.state if household is not None else None
    reaching = _reaches_acceptance(current, state, days)
    accepted_ok, number = _acceptance(values, household, context, res, reaching=reaching)
    if number is False:
        return None
    planned = plan_row(current, state, days, state_day, today=context.today, step_columns=context.step_columns,
                       since=context.last_moved.get(household.pk) if household is not None else None,
                       accepted_ok=accepted_ok)
    for name, message in planned.errors:
        res.refuse(col_of.get(name), message)
    if planned.errors:
        return None
    res.steps, res.undated = planned.steps, planned.undated
    res.notes = [*res.notes, *planned.notes]
    if household is not None:
        _check_rules(household, planned.steps, days, values, res, context, acceptance=number)
    return planned.target


def _reaches_acceptance(current, state, days) -> bool:
    """The row would move the household into 已验收 (or past it): only then is its record looked up."""
    at = lifecycle.index(LifecycleState.ACCEPTED)
    if current is not None and lifecycle.index(current) >= at:
        return False
    return any(lifecycle.index(step) >= at for step in (state, *days) if step)


def _acceptance(values, household, context, res, *, reaching=True):
    """(the household holds a passed acceptance record, the record number the row names or None);
    number False: the row names a number that is no passed record of this household (refused)."""
    number = plain(values.get("acceptance_no") or "").upper()
    if household is not None and not number and not reaching:
        return True, None  # already at 已验收 or past it: later steps need no new record
    if household is None:
        if number:
            res.refuse(context.col_of.get("acceptance_no"), f"验收记录编号“{number}”：新建档的户还没有验收记录，"
                                                            "请先建档，验收后再填写")
            return False, False
        return False, None
    problem = evidence.acceptance_problem(household, number or None)
    if number and problem:
        res.refuse(context.col_of.get("acceptance_no"), problem)
        return False, False
    return problem is None, number or None


def _check_rules(household, steps, days, values, res, context, acceptance=None) -> None:
    """The plan's rules for each move (先立后破, 以气定改, heat sources) on its own day; the first move
    they refuse is reported, on the state column or else the column its day came from. A residents'
    consent to removal given on the same row counts (a sheet gives it with the 拆除日期)."""
    if values.get("removal_consent_on"):
        try:
            consent = clean_field("removal_consent_on", values["removal_consent_on"])
        except ValueError:
            consent = None  # the service's own check reports it
        if consent:
            household = copy.copy(household)
            household.removal_consent_on = consent
    before, commissioned = household.state, None
    for step, day in steps:
        on = day or context.today
        if step == LifecycleState.INSTALLED:
            commissioned = on
        problems = rules_engine.for_transition(household, step, on, from_state=before, commissioned=commissioned,
                                               acceptance=acceptance)
        if problems:
            column = _cell_of(step, days, values, context.col_of)
            for message in dict.fromkeys(problems.values()):
                res.refuse(column, message)
            return
        before = step


def _cell_of(step, days, values, col_of):
    """The column naming a step's move: the state column if the row fills it, else the date column
    the step's day came from (its own, or a later step's), else 状态日期."""
    if values.get("state"):
        return col_of.get("state")
    later = next((s for s in lifecycle.STEPS[lifecycle.index(step):] if s in days), None)
    return col_of[DATE_FIELDS[later]] if later else col_of.get("state_date")


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
