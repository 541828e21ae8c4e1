"""Column by column: recognise the rows of a sheet that are plainly new, valid households, and
those that leave an existing household as it is, without checking them one by one.

A row is only recognised when each of its values is one the ledger accepts — the ledger's own field
cleaner (`cleaning.clean_field`) judges each distinct value of a column once — and no rule needs
the row's context (duplicates, updates). Every other row is left to the per-row checks (`rows`),
which phrase the messages; the tests hold both ways to the same verdict for every row.
"""
import itertools
from collections import Counter
from dataclasses import dataclass, field

import polars as pl
from django.utils import timezone

from cleanheat import inputs, pii
from cleanheat.access import scope_filter
from cleanheat.ledger import columns as columns_check, identity, lifecycle, services
from cleanheat.ledger.bulk import NewColumns
from cleanheat.ledger.choices import HeatingPath, LifecycleState
from cleanheat.ledger.cleaning import ADDRESS_LENGTH, NAME_LENGTH, clean_field, enum_value, implied_device
from cleanheat.ledger.models import Household
from cleanheat.ledger.records import ACCOUNT_FIELDS, PII_FIELDS
from cleanheat.regions import codes
from cleanheat.regions.scope import in_scope
from cleanheat.rules import engine as rules_engine
from cleanheat.sheets.cells import as_date

from .dates import SHEET_DATES, STEP_OF, plan_row, step_labels
from .places import LOCATION_FIELDS, plain

# Fields whose few distinct values are each checked once by the ledger's field cleaner.
BY_VALUE = ["household_size", "is_dibao", "is_tekun", "is_tuopin", "is_canji", "heated_area", "structure",
            "envelope_retrofitted", "envelope_gain_pct", "original_facility", "heating_path", "electric_device",
            "heat_source", "removal_consent_on"]
DEFAULTS = {f.name: getattr(f.get_default(), "value", f.get_default())
            for f in Household._meta.concrete_fields if f.name in BY_VALUE}
DEFAULTS["heat_source"] = None
# Stored values the unchanged check compares with (attnames of Household).
STORED = ["pk", "household_no", "village_id", "householder_name", "id_number_masked", "id_number_hash", "phone_masked",
          "phone_hash", "bank_account_masked", "bank_account_hash", "electricity_account_masked",
          "electricity_account_hash", "gas_account_masked", "gas_account_hash", "address", "household_size", "is_dibao",
          "is_tekun", "is_tuopin", "is_canji", "heated_area", "structure", "envelope_retrofitted",
          "envelope_gain_pct", "original_facility", "heating_path", "electric_device", "heat_source_id",
          "removal_consent_on", "state", "plan_year"]
ACCOUNT_PATTERN = r"^[0-9A-Za-z]{4,30}$"  # what identity.normalise_utility_account accepts, before upper-casing
ONE_PASS = 2000  # more rows than this naming households: one pass over the scope instead of lookups by number
BAD = object()   # a value the ledger refuses


@dataclass
class Screen:
    ok: list                         # per row: a new household passing every check
    slow: list                       # indexes of rows to check one by one
    gas: list                        # indexes of rows passing everything but the gas volume check
    villages: list
    cleaned: dict                    # field → per-row values (Python form)
    ids: list
    id_hashes: list
    phones: list
    banks: list
    accounts: dict                   # utility account field → per row: the account (upper case) or None
    moves: dict                      # per row: the lifecycle steps, notes and undated flag of its plan
    days: dict                       # date field → per row: the day given (None; BAD: refused)
    implied: list                    # per row: the device type its path cell names ("": none)
    unchanged: list = field(default_factory=list)   # indexes of rows naming households they leave as they are

    def new_columns(self, numbers) -> NewColumns:
        """The recognised new households as the ledger's bulk path takes them (numbers: Excel rows)."""
        keep = [i for i, ok in enumerate(self.ok) if ok]

        def pick(column):
            return [column[i] for i in keep]
        values = {f if f != "heat_source" else "heat_source_id": pick(column) for f, column in self.cleaned.items()}
        values["village_id"] = pick(self.villages)
        values["heat_source_id"] = [s.pk if s is not None else None for s in values["heat_source_id"]]
        values["id_number_hash"] = pick(self.id_hashes)
        # encrypted and masked while writing, so that the database works on one chunk meanwhile
        secrets = {"id_number": pick(self.ids), "phone": [v or "" for v in pick(self.phones)],
                   "bank_account": [v or "" for v in pick(self.banks)],
                   **{f: [v or "" for v in pick(column)] for f, column in self.accounts.items()}}
        return NewColumns(values=values, secrets=secrets, steps=[self.moves["steps"][i] for i in keep],
                          order=pick(numbers))

    def notes(self, numbers) -> dict:
        """Row number → (index, notes) of the recognised new households the dry run notes something on."""
        notes = self.moves["notes"]
        return {numbers[i]: (i, notes[i]) for i, ok in enumerate(self.ok) if ok and notes[i]}

    def undated(self) -> int:
        return sum(1 for ok, flag in zip(self.ok, self.moves["undated"]) if ok and flag)


class Sheet:
    """The data rows' columns by field, and the verdict so far (`ok`) of each row."""

    def __init__(self, data: pl.DataFrame, columns: dict, user, lookups, finder, defaults=None):
        self.n, self.user, self.lookups, self.finder = data.height, user, lookups, finder
        self.cell = {f: data.get_column(f"c{c}") for c, f in columns.items()}
        self.defaults = defaults or {}   # field the sheet lacks → the value new households get
        self.ok = [True] * self.n
        self.today = timezone.localdate()
        self._lists = {}

    def values(self, f) -> list:
        """The column as a Python list, made once ([None] * n for a column the sheet lacks)."""
        if f not in self._lists:
            self._lists[f] = self.cell[f].to_list() if f in self.cell else [None] * self.n
        return self._lists[f]

    def filled(self, f) -> list:
        """The column as new households take it: a field the sheet lacks has the whole file's value."""
        if f in self.defaults:
            return [v if v is not None else self.defaults[f] for v in self.values(f)]
        return self.values(f)

    def refuse(self, mask) -> None:
        if any(mask):
            for i, bad in enumerate(mask):
                if bad:
                    self.ok[i] = False


def screen(data, columns, user, lookups, finder, defaults=None) -> Screen:
    """The gas volume check, which counts the rows above, is left to the caller (`Screen.gas`).
    defaults: field the sheet lacks → the value new households get."""
    sheet = Sheet(data, columns, user, lookups, finder, defaults)
    if "household_no" in sheet.cell:
        sheet.refuse(sheet.cell["household_no"].is_not_null().to_list())
    villages = _places(sheet)
    holder, addresses = _texts(sheet)
    ids, id_hashes = _id_numbers(sheet)
    accounts = _accounts(sheet)
    cleaned = _by_value(sheet)
    cleaned["plan_year"] = _plan_years(sheet)
    implied = _implied_devices(sheet)
    days = _days(sheet)
    states, moves = _moves(sheet, days)
    gas = _rules(sheet, villages, cleaned, states, implied)
    _locked(sheet, villages, cleaned["plan_year"])
    cleaned.update(householder_name=holder, address=addresses, state=states)
    gas_set = set(gas)
    slow = [i for i in range(sheet.n) if not sheet.ok[i] and i not in gas_set]
    result = Screen(ok=sheet.ok, slow=slow, gas=gas, villages=villages, cleaned=cleaned, ids=ids,
                    id_hashes=id_hashes, phones=sheet.values("phone"), banks=sheet.values("bank_account"),
                    accounts=accounts, moves=moves, days=days, implied=implied)
    if "household_no" in sheet.cell:
        result.unchanged = _unchanged(result, sheet)
        if result.unchanged:
            skip = set(result.unchanged)
            result.slow = [i for i in slow if i not in skip]
    return result


def _places(sheet: Sheet) -> list:
    """Each row's village code: by code, or by names within the uploader's scope (None: refused)."""
    by_code, by_names = {None: None}, {}
    codes_, counties = sheet.values("village_code"), sheet.values("county")
    townships, names = sheet.values("township"), sheet.values("village")
    for raw in set(codes_) - {None}:
        code = plain(raw)
        region = sheet.lookups.villages.get(code)
        by_code[raw] = code if region is not None and region.level == codes.VILLAGE and in_scope(sheet.user, code) \
            else None
    villages = list(map(by_code.__getitem__, codes_))
    if None in villages:  # rows without a code name their village (or nothing: refused)
        for i, code in enumerate(villages):
            if code is None and not codes_[i] and (counties[i] or townships[i] or names[i]):
                key = (counties[i] or "", townships[i] or "", names[i] or "")
                if key not in by_names:
                    try:
                        code, note = sheet.finder.find_noted(*key)
                        by_names[key] = None if note else code  # an old name: the row-by-row check notes it
                    except ValueError:
                        by_names[key] = None
                villages[i] = by_names[key]
        sheet.refuse([code is None for code in villages])
    return villages


def _texts(sheet: Sheet):
    """Householder names and addresses as the ledger keeps them."""
    holder = list(map(one_line, sheet.values("householder_name")))
    sheet.refuse([v is BAD or not v or len(v) > NAME_LENGTH for v in holder])
    addresses = list(map(one_line, sheet.values("address")))
    sheet.refuse([v is BAD or len(v) > ADDRESS_LENGTH for v in addresses])
    return holder, addresses


def _id_numbers(sheet: Sheet):
    """ID numbers (normalised) and their keyed hashes; a number repeated in the file or heading an
    active household leaves the row to the per-row checks. Phones and bank accounts by pattern."""
    n = sheet.n
    ids_raw = sheet.cell.get("id_number", pl.Series([None] * n, dtype=pl.String))
    plain_ids = columns_check.plain_id_numbers(ids_raw, sheet.today).to_list()
    ids = ids_raw.str.to_uppercase().to_list()
    for i, checked in enumerate(plain_ids):
        if not checked:
            sheet.ok[i] = False
            try:  # still needed for the duplicate check below; a masked one (our export's) never counts
                ids[i] = identity.normalise_id_number(ids[i]) if ids[i] and "*" not in ids[i] else None
            except ValueError:
                ids[i] = None
    id_hashes = pii.blind_index_many([v or "" for v in ids], "id")
    counted = Counter(h for h in id_hashes if h)
    sheet.refuse([bool(h) and (counted[h] > 1 or h in sheet.lookups.holders) for h in id_hashes])
    for f, pattern in (("phone", r"^1[3-9][0-9]{9}$"), ("bank_account", r"^[0-9]{12,30}$")):
        if f in sheet.cell:
            sheet.refuse((sheet.cell[f].is_not_null() & ~columns_check.matches(sheet.cell[f], pattern)).to_list())
    return ids, id_hashes


def _accounts(sheet: Sheet) -> dict:
    """Utility account numbers of the plain form; a row whose account is on file already (the row
    matches that household) or repeated in the file is left to the per-row checks."""
    out = {}
    for f in ACCOUNT_FIELDS:
        if f not in sheet.cell:
            out[f] = [None] * sheet.n
            continue
        column = sheet.cell[f]
        sheet.refuse((column.is_not_null() & ~columns_check.matches(column, ACCOUNT_PATTERN)).to_list())
        values = column.str.to_uppercase().to_list()
        hashes = pii.blind_index_many([v or "" for v in values], PII_FIELDS[f][0])
        counted, on_file = Counter(h for h in hashes if h), sheet.lookups.accounts[f]
        sheet.refuse([bool(h) and (counted[h] > 1 or h in on_file) for h in hashes])
        out[f] = values
    return out


def _by_value(sheet: Sheet) -> dict:
    """Fields with few distinct values: each value judged once by the ledger's field cleaner."""
    cleaned = {}
    for f in BY_VALUE:
        column = sheet.filled(f)
        judged, bad = {None: DEFAULTS[f]}, False
        for value in set(column) - {None}:
            try:
                judged[value] = clean_field(f, value, user=sheet.user, lookups=sheet.lookups)
            except ValueError:
                judged[value], bad = BAD, True
        cleaned[f] = list(map(judged.__getitem__, column))
        if bad:
            sheet.refuse([v is BAD for v in cleaned[f]])
    for f in services.REQUIRED_ON_CREATE:
        if f in BY_VALUE:
            sheet.refuse([v is None for v in sheet.filled(f)])
    return cleaned


def _plan_years(sheet: Sheet) -> list:
    """计划年度: each value judged once by the ledger's cleaner; an empty cell or no such column:
    the latest plan's year."""
    column = sheet.values("plan_year")
    judged, bad = {None: sheet.lookups.default_plan_year()}, False
    for value in set(column) - {None}:
        try:
            judged[value] = clean_field("plan_year", value, user=sheet.user, lookups=sheet.lookups)
        except ValueError:
            judged[value], bad = BAD, True
    years = list(map(judged.__getitem__, column))
    if bad:
        sheet.refuse([v is BAD for v in years])
    return years


def _implied_devices(sheet: Sheet) -> list:
    """The device type each row's path cell names along with the path (空气源热泵 → 热水型), or ""."""
    column = sheet.values("heating_path")
    implied = {value: implied_device(value) for value in set(column)}
    return list(map(implied.__getitem__, column))


def _days(sheet: Sheet) -> dict:
    """Each date column of the sheet (step dates, 状态日期): the day of each row (BAD: not a date)."""
    days = {}
    for name in SHEET_DATES:
        if name not in sheet.cell:
            continue
        day_of = {None: None}
        for value in set(sheet.values(name)) - {None}:
            try:
                day_of[value] = as_date(value)
            except ValueError:
                day_of[value] = BAD
        days[name] = list(map(day_of.__getitem__, sheet.values(name)))
    return days


def _moves(sheet: Sheet, days: dict):
    """Each new household's step, and the steps (with days) it is registered through: the state
    column and the date columns through the lifecycle's one rule (`dates.plan_row`)."""
    state_of = {None: None}
    for value in set(sheet.values("state")) - {None}:
        try:
            state_of[value] = enum_value(value, LifecycleState, "改造状态")
        except ValueError:
            state_of[value] = BAD
    states = list(map(state_of.__getitem__, sheet.values("state")))
    fields = list(days)
    steps = [STEP_OF.get(name) for name in fields]
    at_state_date = 1 + fields.index("state_date") if "state_date" in days else None
    step_columns, labels = any(step is not None for step in steps), step_labels()
    n = sheet.n
    moves = {"steps": [()] * n, "notes": [[]] * n, "undated": [False] * n}
    targets, planned = [None] * n, {}
    for i, key in enumerate(zip(states, *days.values())):
        if not sheet.ok[i]:
            continue
        if BAD in key:
            sheet.ok[i] = False
            continue
        plan = planned.get(key)
        if plan is None:
            given = {step: day for step, day in zip(steps, key[1:]) if step is not None and day is not None}
            plan = planned[key] = plan_row(None, key[0], given, key[at_state_date] if at_state_date else None,
                                           today=sheet.today, step_columns=step_columns, names=labels)
        if plan.errors:
            sheet.ok[i] = False
            continue
        targets[i] = plan.target
        moves["steps"][i], moves["notes"][i], moves["undated"][i] = plan.steps, plan.notes, plan.undated
    return targets, moves


def _locked(sheet: Sheet, villages, years) -> None:
    """Rows for a village whose ledger is approved (locked) go to the per-row checks, which refuse them."""
    if not rules_engine.any_lock():
        return
    judged = {}
    for i in itertools.compress(range(sheet.n), sheet.ok):
        key = (villages[i], years[i])
        if key not in judged:
            judged[key] = rules_engine.lock_problem(*key) is not None
        if judged[key]:
            sheet.ok[i] = False


def _rules(sheet: Sheet, villages, cleaned, states, implied) -> list:
    """The rules that read several fields, judged once per combination; returns the rows whose gas
    volume is left to count in file order."""
    rules, gas = {}, []
    paths, devices, sources = cleaned["heating_path"], cleaned["electric_device"], cleaned["heat_source"]
    retrofitted, gains = cleaned["envelope_retrofitted"], cleaned["envelope_gain_pct"]
    electric, gas_path = HeatingPath.ELECTRIC.value, HeatingPath.GAS.value
    for i in itertools.compress(range(sheet.n), sheet.ok):
        path, state = paths[i], states[i]
        if implied[i] and devices[i] == "":
            devices[i] = implied[i]  # the path cell names the device and the sheet gives none
        if path != electric:
            devices[i] = ""
        elif not devices[i] and state != lifecycle.FIRST:
            sheet.ok[i] = False
            continue
        source = sources[i]
        key = (path, state, source.pk if source else None, retrofitted[i], gains[i], villages[i][:4])
        problem = rules.get(key)
        if problem is None:
            gas_volume = path == gas_path and state != lifecycle.FIRST
            problem = rules[key] = bool(
                rules_engine.retrofit_problem(key[3], key[4], villages[i])
                or (not gas_volume and rules_engine.for_state(None, path=path, village_code=villages[i], area=0,
                                                              state=state, heat_source=source, entering=True)))
        if problem:
            sheet.ok[i] = False
        elif path == gas_path and state != lifecycle.FIRST:
            sheet.ok[i] = False
            gas.append(i)
    return gas


def _unchanged(screen_: Screen, sheet: Sheet) -> list:
    """Rows naming an existing household (by its number) whose every filled-in cell already equals
    the ledger — a re-imported export, say — and on which no rule objects: answered without the
    per-row checks, which would find nothing to write. Anything else stays with those checks."""
    numbers = [(v if v.isascii() and v.isdigit() else plain(v)) if v else "" for v in sheet.values("household_no")]
    counted = Counter(numbers)
    wanted = {no for no, count in counted.items() if no and count == 1}
    candidates = [i for i in screen_.slow if numbers[i] in wanted]
    if not candidates:
        return []
    texts = {f: sheet.values(f)
             for f in ("householder_name", "address", *PII_FIELDS, "state", "plan_year", *LOCATION_FIELDS, *BY_VALUE,
                       "acceptance_no")}
    texts["today"] = sheet.today
    scoped = scope_filter(Household.objects.filter(archived=False), sheet.user, "village_id").values_list(*STORED)
    index_of = {numbers[i]: i for i in candidates}
    if len(candidates) > ONE_PASS:  # a county's or the city's export: one pass over the scope, row by row
        stored = (row for row in scoped.iterator(chunk_size=20000) if row[1] in index_of)
    else:
        stored = (row for chunk in chunks(sorted(index_of), 500) for row in scoped.filter(household_no__in=chunk))
    return sorted(_unchanged_of(stored, index_of, screen_, texts, sheet.lookups))


def _unchanged_of(stored, index_of, screen_, texts, lookups):
    at = {name: k for k, name in enumerate(STORED)}
    rules = {}
    for row in stored:
        i = index_of[row[1]]
        path = row[at["heating_path"]] if texts["heating_path"][i] is None else screen_.cleaned["heating_path"][i]
        if not _same_as_stored(row, i, path, screen_, texts, at):
            continue
        # the rules the service applies to the household as it stands
        state, village = row[at["state"]], row[at["village_id"]]
        key = (path, state, row[at["electric_device"]], row[at["heat_source_id"]], row[at["envelope_retrofitted"]],
               row[at["envelope_gain_pct"]], village[:4])
        if key not in rules:
            source = lookups.heat_source(key[3]) if key[3] is not None else None
            rules[key] = not (
                (path == HeatingPath.ELECTRIC and not key[2] and lifecycle.index(state) >= 1)
                or rules_engine.retrofit_problem(key[4], key[5], village)
                or rules_engine.for_state(None, path=path, village_code=village, area=row[at["heated_area"]],
                                          state=state, heat_source=source, entering=False))
        if rules[key]:
            yield i


def _same_as_stored(row, i, path, screen_, texts, at) -> bool:
    """Every filled-in cell of row i equals the stored household `row`."""
    cleaned = screen_.cleaned
    if any(texts[f][i] for f in LOCATION_FIELDS) and screen_.villages[i] != row[at["village_id"]]:
        return False
    for f in ("householder_name", "address"):
        if texts[f][i] and cleaned[f][i] != row[at[f]]:
            return False
    if texts["plan_year"][i] is not None and cleaned["plan_year"][i] != row[at["plan_year"]]:
        return False
    if not all(_same_secret(texts[f][i], f, row[at[f"{f}_masked"]], row[at[f"{f}_hash"]]) for f in PII_FIELDS):
        return False
    if path != HeatingPath.ELECTRIC and row[at["electric_device"]]:
        return False  # the service would clear a device type left on another path: a change
    if screen_.implied[i] and cleaned["electric_device"][i] == "" and not row[at["electric_device"]]:
        return False  # the path cell names a device type the household lacks: a change
    for f in BY_VALUE:
        value = cleaned[f][i]
        if value is BAD:
            return False
        if texts[f][i] is None:
            continue
        if f == "heat_source":
            same = value.pk == row[at["heat_source_id"]]
        elif f == "electric_device" and path != HeatingPath.ELECTRIC:
            same = row[at[f]] == ""  # the service drops a device type on other paths
        else:
            same = value == row[at[f]]
        if not same:
            return False
    return _stays(row[at["state"]], i, screen_, texts)


def _stays(current, i, screen_, texts) -> bool:
    """The row's state and dates move the household nowhere, and nothing in them is refused."""
    state = None
    if texts["acceptance_no"][i]:
        return False  # the record it names is checked row by row
    if (text := texts["state"][i]) is not None:
        try:
            state = enum_value(text, LifecycleState, "改造状态")
        except ValueError:
            return False
    days, state_day = {}, None
    for name, column in screen_.days.items():
        if column[i] is BAD:
            return False
        if name == "state_date":
            state_day = column[i]
        elif column[i] is not None:
            days[STEP_OF[name]] = column[i]
    planned = plan_row(current, state, days, state_day, today=texts["today"],
                       step_columns=any(name != "state_date" for name in screen_.days))
    return not planned.errors and not planned.steps and not planned.notes  # a note: 已验收 without a record


def _same_secret(text, f, masked, stored_hash) -> bool:
    if not text or text == masked:
        return True  # empty, or the mask our own export writes: unchanged
    try:  # the ledger's own normalising, then the keyed hash it stores
        return pii.blind_index(clean_field(f, text), PII_FIELDS[f][0]) == stored_hash
    except ValueError:
        return False


def one_line(text):
    """A text cell as the ledger keeps it (one line); BAD where the ledger refuses a character."""
    if not text:
        return ""
    return BAD if inputs.unprintable(text) else " ".join(text.split())


def chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]
