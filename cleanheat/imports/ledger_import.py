"""Importing a county's ledger sheet: read, recognise, validate every row through the ledger
service layer, preview, then write everything (or only the valid rows) in one transaction.

Rows match existing households by household number, then by ID number. Unchanged rows change
nothing, so importing the same file twice is harmless; changed rows write history with channel
"import" and the file's name.
"""
import heapq
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
import polars as pl

from cleanheat import bulk, inputs, pii
from cleanheat.access import require_perm, scope_filter, user_prefix
from cleanheat.accounts.roles import IMPORT
from cleanheat.audit.services import HolderElsewhere, record_duplicates
from cleanheat.ledger import columns as columns_check, identity, services
from cleanheat.ledger.choices import STATE_ORDER, Channel, HeatingPath, LifecycleState
from cleanheat.ledger.models import Household, HouseholdChange, HouseholdNumberSequence, LifecycleEvent
from cleanheat.regions import codes
from cleanheat.regions.scope import in_scope
from cleanheat.rules import engine as rules_engine
from cleanheat.regions.models import Region
from cleanheat.sheets.cells import as_date, as_text
from cleanheat.sheets.headers import TOTAL_WORDS, column_letter, find_header
from cleanheat.sheets.reader import read_table

LOCATION_FIELDS = ("county", "township", "village", "village_code")


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


@dataclass
class NewRows:
    """New households that passed every check column by column: database-ready columns."""
    numbers: list                    # Excel row numbers
    values: dict                     # Household attname → list of values
    secrets: dict                    # id_number / phone / bank_account → plain values (encrypted on writing)
    state_dates: list                # the day each reached its state (None: the import day)

    def __len__(self):
        return len(self.numbers)


@dataclass
class ImportResult:
    filename: str
    sheet: str
    header_row: int
    columns: dict
    ignored: list
    header: list                     # the header row's cells
    checked: list                    # RowResult of the rows checked one by one, in file order
    fast: NewRows | None = None      # rows checked column by column (all of them new and valid)
    unchanged: list = field(default_factory=list)   # row numbers of rows that change nothing

    @property
    def counts(self) -> dict:
        counts = {"new": len(self.fast) if self.fast else 0, "updated": 0, "unchanged": len(self.unchanged),
                  "refused": 0}
        for r in self.checked:
            counts[r.action] += 1
        return counts

    @property
    def results(self) -> list:
        """Every row's result in file order (for small files and tests; imports use the parts)."""
        fast = [RowResult(number=n, action="new") for n in (self.fast.numbers if self.fast else [])]
        same = [RowResult(number=n, action="unchanged") for n in self.unchanged]
        return sorted(fast + same + self.checked, key=lambda r: r.number)

    def problems(self, limit=None):
        """Chinese messages naming row, column and reason."""
        out = []
        for r in self.checked:
            for col, message in r.errors:
                where = f"第{r.number}行" + (f"，{column_letter(col)}列“{self.header_text(col)}”" if col is not None else "")
                out.append(f"{where}：{message}")
                if limit and len(out) >= limit:
                    return out
        return out

    def header_text(self, col):
        return str(self.header[col] or "").strip() if col < len(self.header) else ""


class BatchLookups(services.Lookups):
    """Everything row validation asks the database, loaded once for the whole file."""

    def __init__(self):
        self.villages = {r.code: r for r in Region.objects.filter(level=codes.VILLAGE)}
        self.names = dict(Region.objects.values_list("code", "name"))
        self.holders = {h: (no, v, pk) for h, no, v, pk in Household.objects.filter(archived=False)
                        .values_list("id_number_hash", "household_no", "village_id", "pk").iterator(chunk_size=20000)}

    def village(self, code):
        return self.villages.get(code)

    def active_holder(self, id_hash, exclude_pk=None):
        found = self.holders.get(id_hash)
        if found is None or found[2] == exclude_pk:
            return None
        return found[:2]

    def region_name(self, code):
        return self.names.get(code, code)

    def heat_source(self, value):
        if not hasattr(self, "sources"):
            from cleanheat.rules.models import HeatSource
            self.sources = {}
            for source in HeatSource.objects.all():
                self.sources[str(source.pk)] = self.sources[source.name] = source
        return self.sources.get(str(value).strip())


class VillageFinder:
    """Villages named the way clerks write them, within the uploader's scope."""

    def __init__(self, user, villages):
        prefix = user_prefix(user)
        self.by_triple, self.by_pair, self.by_name = {}, defaultdict(list), defaultdict(list)
        names = dict(Region.objects.filter(level__in=(codes.COUNTY, codes.TOWNSHIP)).values_list("code", "name"))
        for code, village in villages.items():
            if not code.startswith(prefix):
                continue
            county, township = names.get(codes.full_code(code[:6]), ""), names.get(codes.full_code(code[:9]), "")
            for key in dict.fromkeys(_plain(name) for name in village.match_names()):  # 奇村村委会, 奇村
                self.by_triple[(_plain(county), _plain(township), key)] = code
                self.by_pair[(_plain(township), key)].append(code)
                self.by_name[key].append(code)

    def find(self, county, township, village):
        village = _plain(village)
        if not village:
            raise ValueError("未填写村（社区）名称或村区划代码")
        if county and township and (code := self.by_triple.get((_plain(county), _plain(township), village))):
            return code
        candidates = self.by_pair.get((_plain(township), village), []) if township else self.by_name.get(village, [])
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            where = f"{township}" if township else ""
            raise ValueError(f"在您的管辖范围内找不到村（社区）“{where}{village}”，请核对名称或填写村区划代码")
        raise ValueError(f"“{village}”在您的管辖范围内有{len(candidates)}个同名村，请同时填写乡镇或填写村区划代码")


def _plain(text) -> str:
    return identity.normalise_text(text)


def analyse(path, *, user, filename: str, progress=None, by_row=False, record_attempts=True) -> ImportResult:
    """Dry run: read and validate every row; nothing is written.

    Rows that are plainly new and valid are recognised column by column (`_screen`); every other
    row — an update, anything doubtful, anything refused — goes through the same per-row service
    checks as a form, in file order, and those phrase every message. by_row=True checks every
    row one by one: the reference the column checks are tested against. Rows naming a householder
    outside the uploader's area are recorded for the audit unless record_attempts=False (a second
    look at a file already analysed)."""
    require_perm(user, IMPORT)
    sheet, table = read_table(path)
    head = [[v if v is not None else "" for v in row] for row in table.head(20).rows()]
    header_index, columns, ignored = find_header(head)
    data = _data_rows(table, header_index)
    total = data.height
    if progress:
        progress("read", total, total)
    result = ImportResult(filename=filename, sheet=sheet, header_row=header_index + 1, columns=columns,
                          ignored=ignored, header=head[header_index], checked=[])
    lookups = BatchLookups()
    finder = VillageFinder(user, lookups.villages)
    col_of = {f: c for c, f in columns.items()}
    with rules_engine.batch():
        screen = _screen(data, columns, user, lookups, finder)
        if by_row:
            screen.slow, screen.gas, screen.ok = list(range(data.height)), [], [False] * data.height
            screen.unchanged = []
        if progress:
            progress("validate", total - len(screen.slow) - len(screen.gas), total)
        numbers = data.get_column("_number").to_list()
        existing = _existing_households(user, data, screen.slow, col_of)
        seen_ids, seen_numbers = {}, {}
        gas = set(screen.gas)
        cells = data.drop("_number")
        slow_rows = dict(zip(screen.slow, cells[screen.slow].rows())) if screen.slow else {}
        for i, index in enumerate(sorted(screen.slow + screen.gas)):
            if index in gas:  # 以气定改: the volume left depends on the rows above, so in file order
                if rules_engine.gas_problem(None, screen.villages[index], screen.cleaned["heated_area"][index]) is None:
                    screen.ok[index] = True
                    continue
            row = [v if v is not None else "" for v in (slow_rows.pop(index, None) or cells.row(index))]
            res = _check_row(row, numbers[index], user, columns, col_of, lookups, finder, existing,
                             seen_ids, seen_numbers)
            if res.errors:
                res.raw = row
            result.checked.append(res)
            if progress and i % 2000 == 0:
                progress("validate", total - len(screen.slow) - len(screen.gas) + i, total)
        result.fast = screen.new_rows(numbers)
        result.unchanged = [numbers[i] for i in screen.unchanged]
    attempts = [r.holder_elsewhere for r in result.checked if r.holder_elsewhere]
    if attempts and record_attempts:
        record_duplicates(attempts, user=user, channel=Channel.IMPORT)
    if progress:
        progress("validate", total, total)
    return result


def _data_rows(table, header_index):
    """Rows below the header without blank and 合计/小计 rows; _number is the Excel row number."""
    cells = table.columns
    data = table.slice(header_index + 1).with_row_index("_number", offset=header_index + 2)
    first = pl.coalesce(cells).str.replace_all(" ", "", literal=True)
    total = pl.any_horizontal([first.str.starts_with(word) for word in TOTAL_WORDS]).fill_null(False)
    return data.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in cells]) & ~total)


def _existing_households(user, data, slow, col_of):
    """Households of the uploader's scope that rows checked one by one may refer to."""
    numbers, hashes = set(), set()
    for f, target in (("household_no", numbers), ("id_number", hashes)):
        if f not in col_of:
            continue
        column = data.get_column(f"c{col_of[f]}").to_list()
        for index in slow:
            value = column[index]
            if f == "household_no" and (no := _plain(value)):
                target.add(no)
            elif f == "id_number" and value:
                try:
                    target.add(pii.blind_index(identity.normalise_id_number(value), "id"))
                except ValueError:
                    pass
    scoped = scope_filter(Household.objects.filter(archived=False), user, "village_id")
    by_no, by_hash = {}, {}
    for chunk in _chunks(sorted(numbers), 500):
        for h in scoped.filter(household_no__in=chunk):
            by_no[h.household_no] = h
    for chunk in _chunks(sorted(hashes), 500):
        for h in scoped.filter(id_number_hash__in=chunk):
            by_hash[h.id_number_hash] = h
    return by_no, by_hash


# Fields whose few distinct values are each checked once by the service's own field check.
BY_VALUE = ["household_size", "is_dibao", "is_tekun", "is_tuopin", "is_canji", "heated_area", "structure",
            "envelope_retrofitted", "envelope_gain_pct", "original_facility", "heating_path", "electric_device",
            "heat_source", "removal_consent_on"]
DEFAULTS = {f.name: getattr(f.get_default(), "value", f.get_default())
            for f in Household._meta.concrete_fields if f.name in BY_VALUE}
DEFAULTS["heat_source"] = None


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
    unchanged: list = field(default_factory=list)   # indexes of rows naming households they leave as they are

    def new_rows(self, numbers) -> NewRows:
        keep = [i for i, ok in enumerate(self.ok) if ok]

        def pick(column):
            return [column[i] for i in keep]
        values = {f if f != "heat_source" else "heat_source_id": pick(column) for f, column in self.cleaned.items()
                  if f != "state_date"}
        values["village_id"] = pick(self.villages)
        values["heat_source_id"] = [s.pk if s is not None else None for s in values["heat_source_id"]]
        values["id_number_hash"] = pick(self.id_hashes)
        # encrypted and masked while writing, so that the database works on one chunk meanwhile
        secrets = {"id_number": pick(self.ids), "phone": [v or "" for v in pick(self.phones)],
                   "bank_account": [v or "" for v in pick(self.banks)]}
        return NewRows(numbers=pick(numbers), values=values, secrets=secrets,
                       state_dates=pick(self.cleaned["state_date"]))


def _screen(data, columns, user, lookups, finder) -> Screen:
    """Recognise the rows that are new households passing every check, column by column.

    A row is only recognised when each of its values is one the service accepts (the service
    itself judges each distinct value) and no rule needs the row's context (duplicates, updates);
    the gas volume check, which counts the rows above, is left to the caller (`Screen.gas`)."""
    n = data.height
    col_of = {f: c for c, f in columns.items()}
    cell = {f: data.get_column(f"c{c}") for f, c in col_of.items()}

    lists = {}

    def values(f):  # the column as a Python list, made once
        if f not in lists:
            lists[f] = cell[f].to_list() if f in cell else [None] * n
        return lists[f]

    ok = [True] * n

    def refuse(mask):
        if any(mask):
            for i, bad in enumerate(mask):
                if bad:
                    ok[i] = False

    if "household_no" in cell:
        refuse(cell["household_no"].is_not_null().to_list())
    today = timezone.localdate()

    # where: village code, or names within the uploader's scope
    by_code, by_names = {None: None}, {}
    codes_, counties, townships, names = values("village_code"), values("county"), values("township"), values("village")
    for raw in set(codes_) - {None}:
        plain = _plain(raw)
        region = lookups.villages.get(plain)
        by_code[raw] = plain if region is not None and region.level == codes.VILLAGE and in_scope(user, plain) else None
    villages = list(map(by_code.__getitem__, codes_))
    if None in villages:  # rows without a code name their village (or nothing: refused)
        for i, code in enumerate(villages):
            if code is None and not codes_[i] and (counties[i] or townships[i] or names[i]):
                key = (counties[i] or "", townships[i] or "", names[i] or "")
                if key not in by_names:
                    try:
                        by_names[key] = finder.find(*key)
                    except ValueError:
                        by_names[key] = None
                villages[i] = by_names[key]
        refuse([code is None for code in villages])

    # householder and identifiers
    holder = list(map(_line, values("householder_name")))
    refuse([v is _BAD or not v or len(v) > services.NAME_LENGTH for v in holder])
    ids_raw = cell.get("id_number", pl.Series([None] * n, dtype=pl.String))
    plain_ids = columns_check.plain_id_numbers(ids_raw, today).to_list()
    ids = ids_raw.str.to_uppercase().to_list()
    for i, plain in enumerate(plain_ids):
        if not plain:
            ok[i] = False
            try:  # still needed for the duplicate check below; a masked one (our export's) never counts
                ids[i] = identity.normalise_id_number(ids[i]) if ids[i] and "*" not in ids[i] else None
            except ValueError:
                ids[i] = None
    id_hashes = pii.blind_index_many([v or "" for v in ids], "id")
    counted = Counter(h for h in id_hashes if h)
    refuse([bool(h) and (counted[h] > 1 or h in lookups.holders) for h in id_hashes])
    for f, pattern in (("phone", r"^1[3-9][0-9]{9}$"), ("bank_account", r"^[0-9]{12,30}$")):
        if f in cell:
            refuse((cell[f].is_not_null() & ~columns_check.matches(cell[f], pattern)).to_list())
    addresses = list(map(_line, values("address")))
    refuse([v is _BAD or len(v) > services.ADDRESS_LENGTH for v in addresses])

    # few distinct values: each judged once by the service's field check
    cleaned = {}
    for f in BY_VALUE:
        column = values(f)
        judged, bad = {None: DEFAULTS[f]}, False
        for value in set(column) - {None}:
            try:
                judged[value] = services._clean_field(f, value, user, lookups)
            except ValueError:
                judged[value], bad = _BAD, True
        cleaned[f] = list(map(judged.__getitem__, column))
        if bad:
            refuse([v is _BAD for v in cleaned[f]])
    for f in services.REQUIRED_ON_CREATE:
        if f in BY_VALUE:
            refuse([v is None for v in values(f)])

    state_of, date_of = {None: LifecycleState.CONFIRMED.value}, {None: None}
    for value in set(values("state")) - {None}:
        try:
            state = services.enum_value(value, LifecycleState, "改造状态")
            if state not in (LifecycleState.PROVEN, LifecycleState.REMOVED):
                state_of[value] = state
        except ValueError:
            pass
    for value in set(values("state_date")) - {None}:
        try:
            day = as_date(value)
            if day <= today:
                date_of[value] = day
        except ValueError:
            pass
    states = [state_of.get(v, _BAD) for v in values("state")]
    state_dates = [date_of.get(v, _BAD) for v in values("state_date")]
    refuse([a is _BAD or b is _BAD for a, b in zip(states, state_dates)])

    # the rules that read several fields; gas volumes are counted row by row, in file order
    rules, gas = {}, []
    paths, devices, sources = cleaned["heating_path"], cleaned["electric_device"], cleaned["heat_source"]
    retrofitted, gains = cleaned["envelope_retrofitted"], cleaned["envelope_gain_pct"]
    electric, gas_path, confirmed = HeatingPath.ELECTRIC.value, HeatingPath.GAS.value, LifecycleState.CONFIRMED.value
    for i in itertools.compress(range(n), ok):
        path, state = paths[i], states[i]
        if path != electric:
            devices[i] = ""
        elif not devices[i] and state != confirmed:
            ok[i] = False
            continue
        source = sources[i]
        key = (path, state, source.pk if source else None, retrofitted[i], gains[i], villages[i][:4])
        problem = rules.get(key)
        if problem is None:
            gas_volume = path == gas_path and state != confirmed
            problem = rules[key] = bool(
                rules_engine.retrofit_problem(key[3], key[4], villages[i])
                or (not gas_volume and rules_engine.for_state(None, path=path, village_code=villages[i], area=0,
                                                              state=state, heat_source=source, entering=True)))
        if problem:
            ok[i] = False
        elif path == gas_path and state != confirmed:
            ok[i] = False
            gas.append(i)

    cleaned.update(householder_name=holder, address=addresses, state=states, state_date=state_dates)
    gas_set = set(gas)
    slow = [i for i in range(n) if not ok[i] and i not in gas_set]
    screen = Screen(ok=ok, slow=slow, gas=gas, villages=villages, cleaned=cleaned, ids=ids, id_hashes=id_hashes,
                    phones=values("phone"), banks=values("bank_account"))
    if "household_no" in cell:
        screen.unchanged = _unchanged(screen, values, user, lookups)
        if screen.unchanged:
            skip = set(screen.unchanged)
            screen.slow = [i for i in slow if i not in skip]
    return screen


# Stored values the unchanged check compares with (attnames of Household).
STORED = ["pk", "household_no", "village_id", "householder_name", "id_number_masked", "id_number_hash", "phone_masked",
          "phone_hash", "bank_account_masked", "bank_account_hash", "address", "household_size", "is_dibao",
          "is_tekun", "is_tuopin", "is_canji", "heated_area", "structure", "envelope_retrofitted",
          "envelope_gain_pct", "original_facility", "heating_path", "electric_device", "heat_source_id",
          "removal_consent_on", "state"]


def _unchanged(screen, values, user, lookups) -> list:
    """Rows naming an existing household (by its number) whose every filled-in cell already equals
    the ledger — a re-imported export, say — and on which no rule objects: answered without the
    per-row checks, which would find nothing to write. Anything else stays with those checks."""
    numbers = [(v if v.isascii() and v.isdigit() else _plain(v)) if v else "" for v in values("household_no")]
    counted = Counter(numbers)
    wanted = {no for no, count in counted.items() if no and count == 1}
    candidates = [i for i in screen.slow if numbers[i] in wanted]
    if not candidates:
        return []
    texts = {f: values(f) for f in ("householder_name", "address", "id_number", "phone", "bank_account", "state",
                                    *LOCATION_FIELDS, *BY_VALUE)}
    scoped = scope_filter(Household.objects.filter(archived=False), user, "village_id").values_list(*STORED)
    index_of = {numbers[i]: i for i in candidates}
    if len(candidates) > 2000:  # a county's or the city's export: one pass over the scope, row by row
        stored = (row for row in scoped.iterator(chunk_size=20000) if row[1] in index_of)
    else:
        stored = (row for chunk in _chunks(sorted(index_of), 500) for row in scoped.filter(household_no__in=chunk))
    return sorted(_unchanged_of(stored, index_of, screen, texts, lookups))


def _unchanged_of(stored, index_of, screen, texts, lookups):
    cleaned = screen.cleaned
    at = {name: k for k, name in enumerate(STORED)}
    state_of, rules = {}, {}
    for row in stored:
        i = index_of[row[1]]
        if screen.cleaned["state_date"][i] is _BAD:
            continue
        if any(texts[f][i] for f in LOCATION_FIELDS) and \
                screen.villages[i] != row[at["village_id"]]:
            continue
        if texts["householder_name"][i] and cleaned["householder_name"][i] != row[at["householder_name"]]:
            continue
        if texts["address"][i] and cleaned["address"][i] != row[at["address"]]:
            continue
        if not all(_same_secret(texts[f][i], f, row[at[f"{f}_masked"]], row[at[f"{f}_hash"]]) for f in services.PII_FIELDS):
            continue
        path = row[at["heating_path"]] if texts["heating_path"][i] is None else cleaned["heating_path"][i]
        if path != HeatingPath.ELECTRIC and row[at["electric_device"]]:
            continue  # the service would clear a device type left on another path: a change
        same = True
        for f in BY_VALUE:
            value = cleaned[f][i]
            if value is _BAD:
                same = False
            elif texts[f][i] is None:
                continue
            elif f == "heat_source":
                same = value.pk == row[at["heat_source_id"]]
            elif f == "electric_device" and path != HeatingPath.ELECTRIC:
                same = row[at[f]] == ""  # the service drops a device type on other paths
            else:
                same = value == row[at[f]]
            if not same:
                break
        if not same:
            continue
        if (text := texts["state"][i]) is not None:
            if text not in state_of:
                try:
                    state_of[text] = services.enum_value(text, LifecycleState, "改造状态")
                except ValueError:
                    state_of[text] = None
            if state_of[text] != row[at["state"]]:
                continue
        # the rules the service applies to the household as it stands
        state, village = row[at["state"]], row[at["village_id"]]
        key = (path, state, row[at["electric_device"]], row[at["heat_source_id"]], row[at["envelope_retrofitted"]],
               row[at["envelope_gain_pct"]], village[:4])
        if key not in rules:
            source = lookups.heat_source(key[3]) if key[3] is not None else None
            rules[key] = not (
                (path == HeatingPath.ELECTRIC and not key[2] and STATE_ORDER.index(state) >= 1)
                or rules_engine.retrofit_problem(key[4], key[5], village)
                or rules_engine.for_state(None, path=path, village_code=village, area=row[at["heated_area"]],
                                          state=state, heat_source=source, entering=False))
        if rules[key]:
            yield i


def _same_secret(text, f, masked, stored_hash) -> bool:
    if not text or text == masked:
        return True  # empty, or the mask our own export writes: unchanged
    try:  # the service's own normalising, then the keyed hash it stores
        return pii.blind_index(services._clean_field(f, text, None, None), services.PII_FIELDS[f][0]) == stored_hash
    except ValueError:
        return False


_BAD = object()


def _line(text):
    """A text cell as the service keeps it (one line); _BAD where the service refuses a character."""
    if not text:
        return ""
    return _BAD if inputs.unprintable(text) else " ".join(text.split())


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _cell(row, col):
    return as_text(row[col]) if col < len(row) else ""


def _check_row(row, number, user, columns, col_of, lookups, finder, existing, seen_ids, seen_numbers):
    res = RowResult(number=number)
    values = {f: _cell(row, c) for c, f in columns.items()}
    by_no, by_hash = existing

    # which household is this?
    household = None
    if values.get("household_no"):
        no = _plain(values["household_no"])
        household = by_no.get(no)
        if household is None:
            res.errors.append((col_of["household_no"], f"户编号“{no}”不存在或不在您的管辖范围内"))
            return res
        if no in seen_numbers:
            res.errors.append((col_of["household_no"], f"与第{seen_numbers[no]}行的户编号重复"))
            return res
        seen_numbers[no] = number

    # the service's input, from the columns present
    data = {}
    for f in services.EDITABLE_FIELDS:
        if f in values and f != "village":
            text = values[f]
            if household is not None:
                if not text:
                    continue  # an empty cell leaves an existing value as it is
                if f in services.PII_FIELDS and text == getattr(household, f"{f}_masked"):
                    continue  # a masked value from our own export means "unchanged"
            elif not text and f not in services.REQUIRED_ON_CREATE:
                continue
            data[f] = text
    try:
        village = _village(values, finder)
        if village:
            data["village"] = village
    except ValueError as exc:
        res.errors.append((_location_col(col_of), str(exc)))
    if household is None and "id_number" in data:
        try:
            id_hash = pii.blind_index(identity.normalise_id_number(data["id_number"]), "id")
            household = by_hash.get(id_hash)
            if id_hash in seen_ids:
                res.errors.append((col_of.get("id_number"), f"与第{seen_ids[id_hash]}行的身份证号重复"))
            seen_ids[id_hash] = number
        except ValueError:
            pass  # the service reports it below

    # lifecycle state
    state = None
    if values.get("state"):
        try:
            state = services.enum_value(values["state"], LifecycleState, "改造状态")
        except ValueError as exc:
            res.errors.append((col_of["state"], str(exc)))
    try:
        res.state_date = as_date(row[col_of["state_date"]]) if "state_date" in col_of and col_of["state_date"] < len(row) else None
        if res.state_date and res.state_date > timezone.localdate():
            res.errors.append((col_of["state_date"], "状态日期不能晚于今天"))
    except ValueError as exc:
        res.errors.append((col_of["state_date"], str(exc)))
    if household is not None and state and state != household.state:
        current, target = STATE_ORDER.index(household.state), STATE_ORDER.index(state)
        if target < current:
            res.errors.append((col_of["state"], "导入不能回退改造状态，请在户详情页填写原因后回退"))
        elif target > current + 1:
            res.errors.append((col_of["state"], f"不能跳过状态：当前为“{household.get_state_display()}”，"
                                                f"下一步只能是“{LifecycleState(STATE_ORDER[current + 1]).label}”"))
        else:  # the plan's rules for this move, as on every other door
            for message in rules_engine.for_transition(household, state, res.state_date or timezone.localdate()).values():
                res.errors.append((col_of["state"], message))
    elif household is None and state in (LifecycleState.PROVEN, LifecycleState.REMOVED):
        res.errors.append((col_of["state"], f"新建档的户不能直接导入为“{LifecycleState(state).label}”：须先登记完工日期，"
                                            f"经过一个采暖季稳定运行后再变更（《实施方案》四：先立后破、不立不破）"))

    # the same validation as every other door
    try:
        if household is None and "village" not in data and not res.errors:
            raise ValidationError({"village": ["未填写所属村（社区）"]})
        cleaned = services.clean_household_data(data, instance=household, user=user, lookups=lookups,
                                                state=state or (household.state if household else None))
    except ValidationError as error:
        res.holder_elsewhere = getattr(error, "holder_elsewhere", None)
        location_reported = any(col == _location_col(col_of) for col, _ in res.errors)
        for f, messages in error.message_dict.items():
            if f == "village" and location_reported:
                continue
            col = _location_col(col_of) if f == "village" else col_of.get(f)
            res.errors.extend((col, m) for m in messages)
        return res
    if res.errors:
        return res

    if household is None:
        res.household = Household(state=state or LifecycleState.CONFIRMED)
        services._apply(res.household, cleaned)
        res.action, res.new_state = "new", res.household.state
    else:
        res.household = household
        res.changes = services._apply(household, cleaned)
        if state and state != household.state:
            res.new_state = state
        res.action = "updated" if res.changes or res.new_state else "unchanged"
    return res


def _village(values, finder):
    code = _plain(values.get("village_code", ""))
    if code:
        if not (code.isdigit() and len(code) == 12):
            raise ValueError(f"村区划代码“{code}”应为12位数字")
        return code
    if any(values.get(f) for f in ("county", "township", "village")):
        return finder.find(values.get("county", ""), values.get("township", ""), values.get("village", ""))
    return None


def _location_col(col_of):
    for f in ("village_code", "village", "township", "county"):
        if f in col_of:
            return col_of[f]
    return None


class ImportRefused(Exception):
    """All-or-nothing import of a file with refused rows: nothing was written."""


def commit(result: ImportResult, *, user, valid_only=False, progress=None) -> dict:
    """Write the analysed rows in one transaction. All-or-nothing unless valid_only."""
    require_perm(user, IMPORT)
    counts = result.counts
    if counts["refused"] and not valid_only:
        raise ImportRefused(f"有{counts['refused']}行未通过校验，按“全部或全不”规则未写入任何数据。"
                            "请修改后重新上传，或选择“仅导入有效行”。")
    fast = result.fast or NewRows(numbers=[], values={}, secrets={}, state_dates=[])
    new = [r for r in result.checked if r.action == "new"]
    updated = [r for r in result.checked if r.action == "updated"]
    source = result.filename[:200]
    today = timezone.localdate()
    now = timezone.now()
    total = len(fast) + len(new) + len(updated)
    try:
        with transaction.atomic():
            ids = bulk.reserve_ids(Household, len(fast))  # taken meanwhile, where the database allows
            _number(fast, new)
            _write_fast(fast, ids(), user=user, source=source, today=today, now=now, progress=progress, total=total)
            households = [r.household for r in new]
            for h in households:
                h.state_changed_at = now
            bulk.insert(Household, households)
            events, changes = [], []
            for r in new:
                events.append(LifecycleEvent(household=r.household, from_state="", to_state=r.household.state,
                                             occurred_on=r.state_date or today, user=user, channel=Channel.IMPORT,
                                             reason=f"导入建档：{source}"[:200]))
                changes.append(HouseholdChange(household=r.household, user=user, channel=Channel.IMPORT,
                                               source=source, field="created", new_value=r.household.household_no))
            _refuse_if_changed_since_analysis(updated)
            fields = {"version"}
            for r in updated:
                h = r.household
                h.version += 1
                for f, old, new_value in r.changes:
                    fields.update([f"{f}_cipher", f"{f}_hash", f"{f}_masked"] if f in services.PII_FIELDS else [f])
                    changes.append(HouseholdChange(household=h, user=user, channel=Channel.IMPORT, source=source,
                                                   field=f, old_value=old, new_value=new_value, version=h.version))
                if r.new_state:
                    events.append(LifecycleEvent(household=h, from_state=h.state, to_state=r.new_state,
                                                 occurred_on=r.state_date or today, user=user,
                                                 channel=Channel.IMPORT, reason=f"导入：{source}"[:200]))
                    changes.append(HouseholdChange(household=h, user=user, channel=Channel.IMPORT, source=source,
                                                   field="state", old_value=h.state, new_value=r.new_state,
                                                   version=h.version))
                    h.state, h.state_changed_at = r.new_state, now
                    fields.update(["state", "state_changed_at"])
                h.updated_at = now
            if updated:
                Household.objects.bulk_update([r.household for r in updated], sorted(fields | {"updated_at"}),
                                              batch_size=500)
            bulk.insert(LifecycleEvent, events)
            bulk.insert(HouseholdChange, changes)
            if progress:
                progress("write", total, total)
    except IntegrityError:
        raise ImportRefused("写入时发现身份证号与台账中其他户重复（可能有人同时录入），未写入任何数据，请重新上传校验") from None
    return counts


def _refuse_if_changed_since_analysis(updated):
    """The rows were read when the file was checked; a household written since then (by a clerk's
    form, say) would have that change reverted by the stale copy. Locks the rows until commit."""
    seen = {r.household.pk: r.household.version for r in updated}
    moved = []
    for chunk in _chunks(sorted(seen), 500):
        moved += [no for pk, no, version in Household.objects.select_for_update()
                  .filter(pk__in=chunk).values_list("pk", "household_no", "version") if version != seen[pk]]
    if moved:
        raise ImportRefused(f"校验之后有{len(moved)}户已被他人修改（{'、'.join(sorted(moved)[:5])}"
                            f"{'等' if len(moved) > 5 else ''}），为免覆盖他人的修改，未写入任何数据，请重新导入")


def _write_fast(fast, ids, *, user, source, today, now, progress, total):
    """Insert the column-checked new households and their history as plain rows."""
    n = len(fast)
    if not n:
        return
    values = dict(fast.values)
    values["id"] = ids
    for name, value in (("state_changed_at", now), ("created_at", now), ("updated_at", now), ("archived", False),
                        ("archived_at", None), ("archive_reason", "")):
        values[name] = [value] * n
    with bulk.large_write():
        _insert_fast(values, ids, fast, user=user, source=source, today=today, now=now, progress=progress, total=total)


def _insert_fast(values, ids, fast, *, user, source, today, now, progress, total):
    n = len(ids)

    def chunks():  # made while the database stores the previous ones: one COPY for all of them
        for start in range(0, n, CHUNK):
            chunk = {a: column[start:start + CHUNK] for a, column in values.items()}
            for f, (kind, mask) in services.PII_FIELDS.items():
                plain = fast.secrets[f][start:start + CHUNK]
                chunk[f"{f}_cipher"] = pii.encrypt_many(plain)
                chunk[f"{f}_masked"] = [mask(v) if v else "" for v in plain]
                if f != "id_number":  # the ID's keyed hash was needed to find duplicates, and is there
                    chunk[f"{f}_hash"] = pii.blind_index_many(plain, kind)
            yield chunk
            if progress:
                progress("write", min(start + CHUNK, n), total)

    bulk.insert_chunks(Household, chunks())

    def same(value):
        return [value] * n

    bulk.insert_columns(LifecycleEvent, {
        "household_id": ids, "from_state": same(""), "to_state": values["state"],
        "occurred_on": [d or today for d in fast.state_dates], "recorded_at": same(now), "user_id": same(user.pk),
        "channel": same(Channel.IMPORT.value), "reason": same(f"导入建档：{source}"[:200]), "is_backstep": same(False)})
    bulk.insert_columns(HouseholdChange, {
        "household_id": ids, "changed_at": same(now), "user_id": same(user.pk), "channel": same(Channel.IMPORT.value),
        "source": same(source), "field": same("created"), "old_value": same(""), "new_value": values["household_no"]})


CHUNK = 20000


def _number(fast, rows):
    """Household numbers for new rows, in file order: one locked counter update per county."""
    villages = fast.values.get("village_id", [])
    numbers = [None] * len(fast)
    by_county = defaultdict(list)
    both = heapq.merge(zip(fast.numbers, range(len(fast)), itertools.repeat(None)),  # each is in file order
                       ((r.number, None, r.household) for r in rows), key=lambda t: t[0])
    for _, i, household in both:
        by_county[(household.village_id if household is not None else villages[i])[:6]].append((i, household))
    for county, targets in by_county.items():
        seq, _ = HouseholdNumberSequence.objects.select_for_update().get_or_create(county_code=county)
        for i, household in targets:
            seq.last += 1
            if household is not None:
                household.household_no = f"{county}{seq.last:07d}"
            else:
                numbers[i] = f"{county}{seq.last:07d}"
        seq.save(update_fields=["last"])
    if len(fast):
        fast.values["household_no"] = numbers
