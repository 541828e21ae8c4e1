"""Importing a county's ledger sheet: read, recognise, validate every row through the ledger
service layer, preview, then write everything (or only the valid rows) in one transaction.

Rows match existing households by household number, then by ID number. Unchanged rows change
nothing, so importing the same file twice is harmless; changed rows write history with channel
"import" and the file's name.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cleanheat import bulk, pii
from cleanheat.access import require_perm, scope_filter, user_prefix
from cleanheat.accounts.roles import IMPORT
from cleanheat.ledger import identity, services
from cleanheat.ledger.choices import STATE_ORDER, Channel, LifecycleState
from cleanheat.ledger.models import Household, HouseholdChange, HouseholdNumberSequence, LifecycleEvent
from cleanheat.regions import codes
from cleanheat.rules import engine as rules_engine
from cleanheat.regions.models import Region

from .cells import as_date, as_text
from .headers import column_letter, find_header, is_total_row
from .reader import read_rows

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


@dataclass
class ImportResult:
    filename: str
    sheet: str
    header_row: int
    columns: dict
    ignored: list
    rows: list                       # raw rows from the header on (for the error report)
    results: list

    @property
    def counts(self) -> dict:
        counts = {"new": 0, "updated": 0, "unchanged": 0, "refused": 0}
        for r in self.results:
            counts[r.action] += 1
        return counts

    def problems(self, limit=None):
        """Chinese messages naming row, column and reason."""
        out = []
        for r in self.results:
            for col, message in r.errors:
                where = f"第{r.number}行" + (f"，{column_letter(col)}列“{self.header_text(col)}”" if col is not None else "")
                out.append(f"{where}：{message}")
                if limit and len(out) >= limit:
                    return out
        return out

    def header_text(self, col):
        return str(self.rows[0][col]).strip() if col < len(self.rows[0]) else ""


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
            key = _plain(village.name)
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


def analyse(path, *, user, filename: str, progress=None) -> ImportResult:
    """Dry run: read and validate every row; nothing is written."""
    require_perm(user, IMPORT)
    sheet, rows = read_rows(path)
    header_index, columns, ignored = find_header(rows)
    data_rows = rows[header_index + 1:]
    result = ImportResult(filename=filename, sheet=sheet, header_row=header_index + 1, columns=columns,
                          ignored=ignored, rows=[rows[header_index]], results=[])
    if progress:
        progress("read", len(data_rows), len(data_rows))
    lookups = BatchLookups()
    finder = VillageFinder(user, lookups.villages)
    col_of = {f: c for c, f in columns.items()}
    existing = _existing_households(user, data_rows, col_of)
    seen_ids, seen_numbers = {}, {}
    total = len(data_rows)
    with rules_engine.batch():
        _check_rows(result, data_rows, header_index, user, columns, col_of, lookups, finder, existing,
                    seen_ids, seen_numbers, progress)
    if progress:
        progress("validate", total, total)
    return result


def _check_rows(result, data_rows, header_index, user, columns, col_of, lookups, finder, existing,
                seen_ids, seen_numbers, progress):
    total = len(data_rows)
    for offset, row in enumerate(data_rows):
        if not any(str(c).strip() for c in row if c is not None):
            continue  # blank row
        if is_total_row(row):
            continue
        number = header_index + 2 + offset
        result.rows.append(row)
        result.results.append(_check_row(row, number, user, columns, col_of, lookups, finder, existing,
                                         seen_ids, seen_numbers))
        if progress and offset % 2000 == 0:
            progress("validate", offset, total)


def _existing_households(user, data_rows, col_of):
    """Households of the uploader's scope that rows may refer to, by number and by ID hash."""
    numbers, hashes = set(), set()
    for row in data_rows:
        if "household_no" in col_of and (no := _plain(_cell(row, col_of["household_no"]))):
            numbers.add(no)
        if "id_number" in col_of:
            try:
                hashes.add(pii.blind_index(identity.normalise_id_number(_cell(row, col_of["id_number"])), "id"))
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
    new = [r for r in result.results if r.action == "new"]
    updated = [r for r in result.results if r.action == "updated"]
    source = result.filename[:200]
    today = timezone.localdate()
    now = timezone.now()
    try:
        with transaction.atomic():
            _number(new)
            households = [r.household for r in new]
            for h in households:
                h.state_changed_at = now
            written = 0
            for chunk in _chunks(households, 10000):
                bulk.insert(Household, chunk)
                written += len(chunk)
                if progress:
                    progress("write", written, len(new) + len(updated))
            events, changes = [], []
            for r in new:
                events.append(LifecycleEvent(household=r.household, from_state="", to_state=r.household.state,
                                             occurred_on=r.state_date or today, user=user, channel=Channel.IMPORT,
                                             reason=f"导入建档：{source}"[:200]))
                changes.append(HouseholdChange(household=r.household, user=user, channel=Channel.IMPORT,
                                               source=source, field="created", new_value=r.household.household_no))
            fields = set()
            for r in updated:
                h = r.household
                for f, old, new_value in r.changes:
                    fields.update([f"{f}_cipher", f"{f}_hash", f"{f}_masked"] if f in services.PII_FIELDS else [f])
                    changes.append(HouseholdChange(household=h, user=user, channel=Channel.IMPORT, source=source,
                                                   field=f, old_value=old, new_value=new_value))
                if r.new_state:
                    events.append(LifecycleEvent(household=h, from_state=h.state, to_state=r.new_state,
                                                 occurred_on=r.state_date or today, user=user,
                                                 channel=Channel.IMPORT, reason=f"导入：{source}"[:200]))
                    changes.append(HouseholdChange(household=h, user=user, channel=Channel.IMPORT, source=source,
                                                   field="state", old_value=h.state, new_value=r.new_state))
                    h.state, h.state_changed_at = r.new_state, now
                    fields.update(["state", "state_changed_at"])
                h.updated_at = now
            if updated:
                Household.objects.bulk_update([r.household for r in updated], sorted(fields | {"updated_at"}),
                                              batch_size=500)
            bulk.insert(LifecycleEvent, events)
            bulk.insert(HouseholdChange, changes)
            if progress:
                progress("write", len(new) + len(updated), len(new) + len(updated))
    except IntegrityError:
        raise ImportRefused("写入时发现身份证号与台账中其他户重复（可能有人同时录入），未写入任何数据，请重新上传校验") from None
    return counts


def _number(rows):
    """Household numbers for new rows: one locked counter update per county."""
    by_county = defaultdict(list)
    for r in rows:
        by_county[r.household.village_id[:6]].append(r.household)
    for county, households in by_county.items():
        seq, _ = HouseholdNumberSequence.objects.select_for_update().get_or_create(county_code=county)
        for h in households:
            seq.last += 1
            h.household_no = f"{county}{seq.last:07d}"
        seq.save(update_fields=["last"])

