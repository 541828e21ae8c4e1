"""Importing a county's ledger sheet: read, recognise, validate every row through the ledger
service layer, preview, then write everything (or only the valid rows) in one transaction.

Rows match existing households by household number, then by utility account number (电力户号,
燃气户号), then by ID number, then (a row without an ID number) by the householder's name in the
village; the dry run names the key each row matched by. Unchanged rows change
nothing, so importing the same file twice is harmless; changed rows write history with channel
"import" and the file's name. Plainly new rows are recognised column by column (`screen`), every
other row is checked like a form (`rows`); the ledger's bulk paths (`ledger.bulk`) write them.
"""
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max
import polars as pl

from cleanheat import pii
from cleanheat.access import require_perm, scope_filter
from cleanheat.accounts.roles import IMPORT
from cleanheat.audit.services import record_duplicates
from cleanheat.ledger import bulk, identity
from cleanheat.ledger.bulk import NewColumns, NewObjects, Update, Writer
from cleanheat.ledger.choices import Channel
from cleanheat.ledger.cleaning import BatchLookups, clean_field
from cleanheat.ledger.models import Household, HouseholdChange, LifecycleEvent
from cleanheat.ledger.records import ACCOUNT_FIELDS, PII_FIELDS
from cleanheat.rules import engine as rules_engine
from cleanheat.sheets.headers import TOTAL_WORDS, column_letter, find_header
from cleanheat.sheets.reader import read_table

from . import defaults as file_defaults
from .dates import undated_notice
from .places import VillageFinder, plain
from .rows import MATCH_KEYS, RowContext, RowResult, check_row
from .screen import chunks, screen

@dataclass
class ImportResult:
    filename: str
    sheet: str
    header_row: int
    columns: dict
    ignored: list
    header: list                     # the header row's cells
    checked: list                    # RowResult of the rows checked one by one, in file order
    fast: NewColumns | None = None   # rows checked column by column (all of them new and valid)
    unchanged: list = field(default_factory=list)   # row numbers of rows that change nothing
    fast_notes: dict = field(default_factory=dict)  # row number → (row index, notes) of noted fast rows
    questions: list = field(default_factory=list)   # defaults.Question: columns the sheet lacks
    undated: int = 0                 # rows moving several steps in a sheet without step date columns
    table: object = None             # the data rows' cells (for the report of noted fast rows)

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
        notes = self.fast_notes
        fast = [RowResult(number=n, action="new", notes=notes[n][1] if n in notes else [])
                for n in (self.fast.order if self.fast else [])]
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

    @property
    def noted(self) -> int:
        return len(self.fast_notes) + sum(1 for r in self.checked if r.notes and not r.errors)

    def notes(self, limit=None) -> list[str]:
        """What the dry run tells the clerk about rows it accepts (dates taken from a later step …)."""
        lines = sorted([(n, notes) for n, (_, notes) in self.fast_notes.items()]
                       + [(r.number, r.notes) for r in self.checked if r.notes and not r.errors])
        return [f"第{n}行：{'；'.join(notes)}" for n, notes in lines[:limit]]

    @property
    def matched(self) -> dict:
        """How many rows found an existing household by each key (户编号, 电力户号, …)."""
        counted = {key: 0 for key in MATCH_KEYS}
        counted["household_no"] += len(self.unchanged)  # recognised by their household number
        for r in self.checked:
            if r.matched_by:
                counted[r.matched_by] += 1
        return {MATCH_KEYS[key]: n for key, n in counted.items() if n}

    def matches(self, limit=None) -> list[str]:
        """Per row checked one by one: the key it matched an existing household by (not 户编号, which
        the row itself names), e.g. "第3行：按电力户号对应户 140902…（张三）"."""
        lines = [f"第{r.number}行：按{MATCH_KEYS[r.matched_by]}对应户 {r.household.household_no}"
                 f"（{r.household.householder_name}）"
                 for r in self.checked if r.matched_by not in ("", "household_no") and r.household is not None]
        return lines[:limit]

    def notices(self) -> list[str]:
        """What the dry run says once for the whole file."""
        out = [q.notice() for q in self.questions]
        if self.undated:
            out.append(undated_notice(self.undated))
        return out

    @property
    def open_questions(self) -> list:
        """Columns new households need that nobody has picked a value for: nothing is written."""
        return [q for q in self.questions if q.open] if self.counts["new"] else []

    def creation_source(self, length) -> str:
        return file_defaults.history_source(self.filename, self.questions, length)


def analyse(path, *, user, filename: str, progress=None, by_row=False, record_attempts=True,
            defaults=None) -> ImportResult:
    """Dry run: read and validate every row; nothing is written.

    Rows that are plainly new and valid are recognised column by column (`screen`); every other
    row — an update, anything doubtful, anything refused — goes through the same per-row service
    checks as a form, in file order, and those phrase every message. by_row=True checks every
    row one by one: the reference the column checks are tested against. Rows naming a householder
    outside the uploader's area are recorded for the audit unless record_attempts=False (a second
    look at a file already analysed). defaults: {field: value} picked for the whole file, for the
    columns of `defaults.FIELDS` the sheet lacks (ValueError if one is not a valid value)."""
    require_perm(user, IMPORT)
    chosen = file_defaults.parse(defaults)
    sheet, table = read_table(path)
    head = [[v if v is not None else "" for v in row] for row in table.head(20).rows()]
    header_index, columns, ignored = find_header(head)
    data = _data_rows(table, header_index)
    total = data.height
    if progress:
        progress("read", total, total)
    result = ImportResult(filename=filename, sheet=sheet, header_row=header_index + 1, columns=columns,
                          ignored=ignored, header=head[header_index], checked=[])
    result.questions = file_defaults.questions(_lacking(data, columns), chosen)
    row_defaults = file_defaults.row_values(result.questions)
    lookups = BatchLookups()
    finder = VillageFinder(user, lookups.villages)
    col_of = {f: c for c, f in columns.items()}
    with rules_engine.batch():
        found = screen(data, columns, user, lookups, finder, row_defaults)
        if by_row:
            found.slow, found.gas, found.ok = list(range(data.height)), [], [False] * data.height
            found.unchanged = []
        if progress:
            progress("validate", total - len(found.slow) - len(found.gas), total)
        numbers = data.get_column("_number").to_list()
        known = _existing_households(user, data, found.slow, col_of, found.villages)
        context = RowContext(user=user, columns=columns, lookups=lookups, finder=finder, by_number=known.by_number,
                             by_id_hash=known.by_id_hash, by_account=known.by_account, by_name=known.by_name,
                             defaults=row_defaults, last_moved=_last_moved(known.all()))
        gas = set(found.gas)
        cells = data.drop("_number")
        slow_rows = dict(zip(found.slow, cells[found.slow].rows())) if found.slow else {}
        for i, index in enumerate(sorted(found.slow + found.gas)):
            if index in gas:  # 以气定改: the volume left depends on the rows above, so in file order
                if rules_engine.gas_problem(None, found.villages[index], found.cleaned["heated_area"][index]) is None:
                    found.ok[index] = True
                    continue
            row = [v if v is not None else "" for v in (slow_rows.pop(index, None) or cells.row(index))]
            res = check_row(row, numbers[index], context)
            if res.errors or res.notes:
                res.raw = row
            result.checked.append(res)
            if progress and i % 2000 == 0:
                progress("validate", total - len(found.slow) - len(found.gas) + i, total)
        result.fast = found.new_columns(numbers)
        result.fast_notes = found.notes(numbers)
        result.unchanged = [numbers[i] for i in found.unchanged]
        result.undated = found.undated() + sum(1 for r in result.checked if r.undated and r.action != "refused")
        result.table = cells if result.fast_notes else None
    if not (result.counts["new"] or result.counts["refused"]):
        result.questions = []  # nothing is created: nothing to ask
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


def _lacking(data, columns) -> list:
    """The fields asked for the whole file that the sheet lacks: no column, or nothing in it."""
    col_of = {f: c for c, f in columns.items()}
    return [f for f in file_defaults.FIELDS
            if f not in col_of or data.get_column(f"c{col_of[f]}").null_count() == data.height]


def _last_moved(households) -> dict:
    """Household pk → the day of its last lifecycle move (a row's moves may not be dated before it)."""
    pks, out = sorted({h.pk for h in households}), {}
    for chunk in chunks(pks, 500):
        out.update(LifecycleEvent.objects.filter(household_id__in=chunk).values("household_id")
                   .annotate(last=Max("occurred_on")).values_list("household_id", "last"))
    return out


@dataclass
class Known:
    """Households of the uploader's scope that rows checked one by one may be about, by each key."""
    by_number: dict = field(default_factory=dict)
    by_id_hash: dict = field(default_factory=dict)
    by_account: dict = field(default_factory=dict)   # account field → {keyed hash → Household}
    by_name: dict = field(default_factory=dict)      # (village code, name) → [Household]

    def all(self):
        return [*self.by_number.values(), *self.by_id_hash.values(),
                *(h for found in self.by_account.values() for h in found.values()),
                *(h for found in self.by_name.values() for h in found)]


def _column(data, col_of, f):
    return data.get_column(f"c{col_of[f]}").to_list() if f in col_of else None


def _keyed(values, clean, kind) -> set:
    """The keyed hashes of the values the ledger's cleaner accepts."""
    out = set()
    for value in values:
        try:
            out.add(pii.blind_index(clean(value), kind))
        except ValueError:
            pass
    return out


def _existing_households(user, data, slow, col_of, villages) -> Known:
    """Households of the uploader's scope that rows checked one by one may refer to, looked up in
    batches of keys (household numbers, keyed hashes of accounts and ID numbers, names in villages)."""
    def slow_values(f):
        column = _column(data, col_of, f)
        return [column[i] for i in slow if column[i]] if column is not None else []

    numbers = {no for no in map(plain, slow_values("household_no")) if no}
    id_hashes = _keyed(slow_values("id_number"), identity.normalise_id_number, "id")
    accounts = {f: _keyed(slow_values(f), lambda v, f=f: clean_field(f, v), PII_FIELDS[f][0]) for f in ACCOUNT_FIELDS}
    names, ids = _column(data, col_of, "householder_name"), _column(data, col_of, "id_number")
    pairs = {(villages[i], " ".join(names[i].split())) for i in slow
             if names is not None and names[i] and villages[i] and not (ids and ids[i])}
    scoped = scope_filter(Household.objects.filter(archived=False), user, "village_id")
    known = Known()
    known.by_number = _fetch(scoped, "household_no", numbers)
    known.by_id_hash = _fetch(scoped, "id_number_hash", id_hashes)
    known.by_account = {f: _fetch(scoped, f"{f}_hash", hashes) for f, hashes in accounts.items()}
    for chunk in chunks(sorted({v for v, _ in pairs}), 500):
        for h in scoped.filter(village_id__in=chunk, householder_name__in={n for _, n in pairs}):
            if (h.village_id, h.householder_name) in pairs:
                known.by_name.setdefault((h.village_id, h.householder_name), []).append(h)
    return known


def _fetch(scoped, attname, keys) -> dict:
    """key → household of the scope, for the keys given (500 to a query)."""
    out = {}
    for chunk in chunks(sorted(keys), 500):
        for h in scoped.filter(**{f"{attname}__in": chunk}):
            out[getattr(h, attname)] = h
    return out


class ImportRefused(Exception):
    """All-or-nothing import of a file with refused rows: nothing was written."""


def commit(result: ImportResult, *, user, valid_only=False, progress=None) -> dict:
    """Write the analysed rows in one transaction. All-or-nothing unless valid_only."""
    require_perm(user, IMPORT)
    counts = result.counts
    if counts["refused"] and not valid_only:
        raise ImportRefused(f"有{counts['refused']}行未通过校验，按“全部或全不”规则未写入任何数据。"
                            "请修改后重新上传，或选择“仅导入有效行”。")
    if asked := result.open_questions:
        raise ImportRefused("表中没有" + "、".join(f"“{q.label}”" for q in asked) + "列，新建档必填：请为整个文件选择"
                            "一个值（命令行：--default 字段=值）后再导入，未写入任何数据。")
    columns = result.fast or NewColumns(values={}, secrets={}, steps=[], order=[])
    new = [r for r in result.checked if r.action == "new"]
    objects = NewObjects([r.household for r in new], [r.steps for r in new], [r.number for r in new])
    updates = [Update(r.household, r.changes, r.steps) for r in result.checked if r.action == "updated"]
    length = HouseholdChange._meta.get_field("source").max_length
    source, created = result.filename[:length], result.creation_source(length)
    writer = Writer(user=user, channel=Channel.IMPORT, source=source)
    total = len(columns) + len(new) + len(updates)
    try:
        with transaction.atomic():
            bulk.import_households(columns, objects, writer=Writer(user=user, channel=Channel.IMPORT, source=created),
                                   reason=f"导入建档：{created}", progress=progress, total=total)
            bulk.apply_updates(updates, writer=writer, reason=f"导入：{source}")
            if progress:
                progress("write", total, total)
    except bulk.ChangedMeanwhile as moved:
        n = len(moved.numbers)
        raise ImportRefused(f"校验之后有{n}户已被他人修改（{'、'.join(moved.numbers[:5])}{'等' if n > 5 else ''}），"
                            "为免覆盖他人的修改，未写入任何数据，请重新导入") from None
    except IntegrityError:
        raise ImportRefused("写入时发现身份证号与台账中其他户重复（可能有人同时录入），未写入任何数据，请重新上传校验") from None
    return counts
