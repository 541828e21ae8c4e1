"""One value for a whole file: when a sheet lacks a column whose value is usually the same for
every row (the fields listed in data/file_defaults.json: 原取暖设施, 房屋结构), the dry run asks
once instead of refusing every row, and the clerk picks the value for the whole file (the preview
page's select, `import_ledger --default original_facility=燃煤炉`). The value applies to the
households the file creates, and their history says so."""
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cleanheat.ledger import services
from cleanheat.ledger.choices import ENUMS
from cleanheat.ledger.cleaning import clean_field
from cleanheat.ledger.models import Household
from cleanheat.sheets.headers import TEMPLATE_HEADERS, field_for

DATA = Path(__file__).resolve().parent / "data" / "file_defaults.json"
FIELDS = tuple(json.loads(DATA.read_text(encoding="utf-8"))["fields"])


@dataclass
class Question:
    """A column the sheet lacks, and the value new households get for it."""
    field: str
    label: str                       # the column's name in the template
    choices: list                    # (value, label)
    required: bool                   # a new household needs it: nothing is written until it is picked
    chosen: str = ""                 # the value picked for the whole file
    fallback: str = ""               # what a new household gets when none is picked (not for required)

    @property
    def value(self) -> str:
        return self.chosen or self.fallback

    @property
    def open(self) -> bool:
        return self.required and not self.chosen

    def value_label(self) -> str:
        return dict(self.choices).get(self.value, self.value)

    def notice(self) -> str:
        if self.chosen:
            return f"表中没有“{self.label}”列：新建档的户按整表默认值“{self.value_label()}”记"
        if self.required:
            return f"表中没有“{self.label}”列（新建档必填）：请为整个文件选择一个值，选定后才能导入"
        return f"表中没有“{self.label}”列：新建档的户记为“{self.value_label()}”，可为整个文件另选"

    def history_text(self) -> str:
        return f"{self.label}按整表默认值：{self.value_label()}" if self.value else ""

    def as_dict(self) -> dict:
        return dict(asdict(self), choices=[list(c) for c in self.choices], open=self.open)


def parse(given: dict) -> dict:
    """{field: value} from what a clerk gives: the field by name or by its column's name, the value
    as typed (label, code or a usual synonym). ValueError with a Chinese message."""
    out = {}
    for key, text in (given or {}).items():
        name = key if key in FIELDS else field_for(key)
        if name not in FIELDS:
            allowed = "、".join(f"{f}（{TEMPLATE_HEADERS[f]}）" for f in FIELDS)
            raise ValueError(f"“{key}”不能按整表设定默认值，可设定：{allowed}")
        if str(text or "").strip():
            try:
                out[name] = clean_field(name, text)
            except ValueError as exc:
                raise ValueError(f"整表默认值：{exc}") from None
    return out


def questions(missing, chosen: dict) -> list[Question]:
    """The questions for the fields of FIELDS the sheet lacks, with what was picked so far."""
    out = []
    for name in missing:
        required = name in services.REQUIRED_ON_CREATE
        default = Household._meta.get_field(name).get_default()
        out.append(Question(field=name, label=TEMPLATE_HEADERS[name],
                            choices=[(m.value, str(m.label)) for m in ENUMS[name]], required=required,
                            chosen=chosen.get(name, ""), fallback="" if required else str(default or "")))
    return out


def row_values(asked: list[Question]) -> dict:
    """What the rows are checked with: the value picked, else the fallback; a required field
    nobody has picked yet is checked with its first choice (nothing is written until it is picked)."""
    return {q.field: q.value or q.choices[0][0] for q in asked}


def history_source(filename: str, asked: list[Question], length: int) -> str:
    """The history's source for households the file creates: the file, and the values picked for it."""
    said = "；".join(text for q in asked if (text := q.history_text()))
    if not said:
        return filename[:length]
    return f"{filename[:max(length - len(said) - 2, 20)]}（{said}）"[:length]
