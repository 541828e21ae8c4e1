"""Each household field's own check: what a clerk may type, and the value the ledger keeps.

`CLEANERS` maps a field to its cleaner. A cleaner takes the typed value and a `Context` (who writes,
and `Lookups`, what it may ask the database) and returns the cleaned value or raises ValueError with
a Chinese message. The single-record path (`services.clean_household_data`) and the import's column
screen (each distinct value of a column) call the same cleaner by name through `clean_field`.
"""
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django.utils import timezone, translation

from cleanheat import inputs
from cleanheat.regions.codes import VILLAGE
from cleanheat.regions.models import Region
from cleanheat.regions.scope import in_scope, user_prefix
from cleanheat.rules.models import HeatSource
from cleanheat.sheets.cells import as_date

from . import identity, years
from .choices import BOOL_FIELDS, ENUMS, ElectricDevice, HeatingPath, LifecycleState, OriginalFacility, Structure
from .labels import field_label
from .models import Household

AREA_UNITS = ("㎡", "m²", "m2", "平方米", "平米", "平方")
AREA_RANGE = (Decimal("1"), Decimal("2000"))
SIZE_RANGE = (1, 30)
GAIN_RANGE = (0, 100)
NAME_LENGTH = Household._meta.get_field("householder_name").max_length
ADDRESS_LENGTH = Household._meta.get_field("address").max_length
VILLAGE_CODE = re.compile(r"\d{12}")
HEAT_SOURCE_ID = re.compile(r"\d{1,18}")  # a heat source named by its id (fits the database's integer)
TRUE_WORDS = {"1", "true", "yes", "y", "是", "√", "✓", "有", "on"}
ACCOUNTS = ("electricity_account", "gas_account")  # utility account numbers (records.ACCOUNT_FIELDS)
FALSE_WORDS = {"0", "false", "no", "n", "否", "", "无", "off", "none"}
# Words county sheets use for the same values, and path words that also name the device type (data).
SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.json"
ENUM_OF = {"heating_path": HeatingPath, "structure": Structure, "original_facility": OriginalFacility,
           "electric_device": ElectricDevice, "state": LifecycleState}


def load_synonyms(path=SYNONYMS_FILE) -> tuple[dict, dict]:
    """({enum: {word: value}}, {path word: device type}), words as `enum_value` compares them."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    aliases = {ENUM_OF[name]: {identity.normalise_text(word): value for word, value in words.items()}
               for name, words in data["values"].items()}
    devices = {identity.normalise_text(word): value for word, value in data["path_devices"].items()}
    return aliases, devices


ENUM_ALIASES, PATH_DEVICES = load_synonyms()


class Lookups:
    """What validation needs from the database. One row at a time this asks the database;
    a batch (an import) uses `BatchLookups`, which answers from dictionaries loaded once."""

    def village(self, code: str):
        return Region.objects.filter(code=code).first()

    def active_holder(self, id_hash: str, exclude_pk=None):
        """(household_no, village_code) of the active household this person heads, if any."""
        qs = Household.objects.filter(id_number_hash=id_hash, archived=False)
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        return qs.values_list("household_no", "village_id").first()

    def account_holder(self, name: str, account_hash: str, exclude_pk=None):
        """(household_no, village_code) of the active household holding this utility account, if any."""
        qs = Household.objects.filter(**{f"{name}_hash": account_hash}, archived=False)
        if exclude_pk is not None:
            qs = qs.exclude(pk=exclude_pk)
        return qs.values_list("household_no", "village_id").first()

    def region_name(self, code: str) -> str:
        return Region.objects.filter(code=code).values_list("name", flat=True).first() or code

    def plan_years(self) -> list[int]:
        return years.plan_years()

    def default_plan_year(self) -> int:
        return years.default_plan_year()

    def heat_source(self, value):
        text = str(value).strip()
        return HeatSource.objects.filter(pk=int(text)).first() if HEAT_SOURCE_ID.fullmatch(text) else \
            HeatSource.objects.filter(name=text).first()


class BatchLookups(Lookups):
    """Everything row validation asks the database, loaded once for a whole file."""

    def __init__(self):
        self.villages = {r.code: r for r in Region.objects.filter(level=VILLAGE)}
        self.names = dict(Region.objects.values_list("code", "name"))
        self.holders = {h: (no, v, pk) for h, no, v, pk in Household.objects.filter(archived=False)
                        .values_list("id_number_hash", "household_no", "village_id", "pk").iterator(chunk_size=20000)}
        self.accounts = {name: self._accounts(name) for name in ACCOUNTS}
        self.sources = None
        self.years = None

    @staticmethod
    def _accounts(name):
        """Keyed hash → (household_no, village_code, pk) of the active households holding an account."""
        return {h: (no, v, pk) for h, no, v, pk in Household.objects.filter(archived=False)
                .exclude(**{f"{name}_hash": ""}).values_list(f"{name}_hash", "household_no", "village_id", "pk")
                .iterator(chunk_size=20000)}

    def account_holder(self, name, account_hash, exclude_pk=None):
        found = self.accounts[name].get(account_hash)
        if found is None or found[2] == exclude_pk:
            return None
        return found[:2]

    def village(self, code):
        return self.villages.get(code)

    def active_holder(self, id_hash, exclude_pk=None):
        found = self.holders.get(id_hash)
        if found is None or found[2] == exclude_pk:
            return None
        return found[:2]

    def region_name(self, code):
        return self.names.get(code, code)

    def plan_years(self) -> list[int]:
        if self.years is None:
            self.years = years.plan_years()
        return self.years

    def default_plan_year(self) -> int:
        return self.plan_years()[-1] if self.plan_years() else years.default_plan_year()

    def heat_source(self, value):
        if self.sources is None:
            self.sources = {}
            for source in HeatSource.objects.all():
                self.sources[str(source.pk)] = self.sources[source.name] = source
        return self.sources.get(str(value).strip())


@dataclass(frozen=True)
class Context:
    """Who writes (None: the system or the command line, unscoped) and what may be looked up."""
    user: object = None
    lookups: Lookups = field(default_factory=Lookups)


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


def required_message(name: str) -> str:
    """What an empty required field says (in Chinese, as every refusal here): pick from a list, or type it in."""
    with translation.override("zh-hans"):
        return f"{'请选择' if name == 'village' or name in ENUMS else '请填写'}{field_label(name)}"


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_bool(value, context=None):
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"“{value}”应填“是”或“否”")


def clean_village(value, context):
    code = value.code if isinstance(value, Region) else identity.normalise_text(value)
    region = context.lookups.village(code) if VILLAGE_CODE.fullmatch(code) else None
    if region is None or region.level != VILLAGE:
        raise ValueError(f"“{inputs.shown(code)}”不是已登记的村（社区）区划代码")
    if context.user is not None and not in_scope(context.user, region.code):
        raise ValueError(f"“{code}”不在您的管辖范围内")
    return region


def clean_name(value, context=None):
    return inputs.text(value, "户主姓名", max_length=NAME_LENGTH, required=True)


def clean_id_number(value, context=None):
    return identity.normalise_id_number(value)


def clean_phone(value, context=None):
    return identity.normalise_mobile(value) if identity.normalise_text(value) else ""


def clean_bank_account(value, context=None):
    return identity.normalise_bank_account(value) if identity.normalise_text(value) else ""


def clean_electricity_account(value, context=None):
    return identity.normalise_utility_account(value, "电力户号") if identity.normalise_text(value) else ""


def clean_gas_account(value, context=None):
    return identity.normalise_utility_account(value, "燃气户号") if identity.normalise_text(value) else ""


def clean_address(value, context=None):
    return inputs.text(value, field_label("address"), max_length=ADDRESS_LENGTH)


def clean_gain(value, context=None):
    if blank(value) or str(value).strip() in ("%", "％"):
        return None
    gain = inputs.integer(value, "能效提升", units=("%",), what="整数百分数（如 35）")
    if not GAIN_RANGE[0] <= gain <= GAIN_RANGE[1]:
        raise ValueError(f"能效提升应在{GAIN_RANGE[0]}到{GAIN_RANGE[1]}之间")
    return gain


def clean_household_size(value, context=None):
    size = inputs.integer(value, "家庭人口")
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise ValueError(f"家庭人口应在{SIZE_RANGE[0]}到{SIZE_RANGE[1]}人之间")
    return size


def clean_area(value, context=None):
    area = inputs.decimal(value, "采暖面积", places=1, units=AREA_UNITS, what="数字（平方米）")
    if not AREA_RANGE[0] <= area <= AREA_RANGE[1]:
        raise ValueError(f"采暖面积{area}㎡不合理，应在{AREA_RANGE[0]}到{AREA_RANGE[1]}平方米之间")
    return area


def clean_heat_source(value, context):
    if blank(value):
        return None
    if not isinstance(value, HeatSource):
        value = inputs.text(value, "热源")
    source = value if isinstance(value, HeatSource) else context.lookups.heat_source(value)
    user = context.user
    if source is None or user is not None and not source.county_code.startswith(user_prefix(user)[:6]):
        raise ValueError(f"“{value}”不是已登记的热源，请先在热源登记中登记")
    return source


def clean_consent_date(value, context=None):
    consent = as_date(value)
    if consent and consent > timezone.localdate():
        raise ValueError("居民同意日期不能晚于今天")
    return consent


def clean_electric_device(value, context=None):
    if not str(value or "").strip():
        return ""
    return clean_choice("electric_device", value)


def implied_device(path_text) -> str:
    """The device type a sheet's path cell names along with the path (空气源热泵 → 热水型), or ""."""
    return PATH_DEVICES.get(identity.normalise_text(path_text), "") if path_text else ""


def clean_choice(name, value):
    return enum_value(value, ENUMS[name], lambda: field_label(name))


def clean_plan_year(value, context: Context) -> int:
    """计划年度: a year that has a plan ("2023", 2023, "2023年")."""
    if isinstance(value, float) and value.is_integer():  # a number cell of a sheet
        value = int(value)
    text = identity.normalise_text(str(value)).removesuffix("度").removesuffix("年")
    known = context.lookups.plan_years()
    if not text.isdigit() or (known and int(text) not in known) or not known and not 2000 <= int(text) <= 2100:
        listed = "、".join(str(y) for y in known)
        raise ValueError(f"计划年度“{inputs.shown(value)}”没有对应的年度计划" + (f"（现有：{listed}）" if listed else ""))
    return int(text)


CLEANERS = {
    "plan_year": clean_plan_year,
    "village": clean_village,
    "householder_name": clean_name,
    "id_number": clean_id_number,
    "phone": clean_phone,
    "bank_account": clean_bank_account,
    "electricity_account": clean_electricity_account,
    "gas_account": clean_gas_account,
    "address": clean_address,
    "household_size": clean_household_size,
    **{name: clean_bool for name in sorted(BOOL_FIELDS)},
    "heated_area": clean_area,
    "envelope_gain_pct": clean_gain,
    "electric_device": clean_electric_device,
    "heat_source": clean_heat_source,
    "removal_consent_on": clean_consent_date,
    **{name: (lambda value, context=None, _name=name: clean_choice(_name, value))
       for name in ENUMS if name != "electric_device"},
}


def clean_field(name: str, value, *, user=None, lookups: Lookups | None = None):
    """The cleaned value of one field, or ValueError with the reason in Chinese."""
    cleaner = CLEANERS.get(name)
    if cleaner is None:
        raise ValueError(f"未知字段 {name}")
    return cleaner(value, Context(user, lookups or Lookups()))
