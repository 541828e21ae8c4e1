"""The catalog's rules: one set of checks for every catalog value, used by the API, the edit form,
the admin, the tender sheet import and the calculation (which skips a stored model that breaks
them rather than fail)."""
import math
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from .models import HEAT_PUMP_TYPES, CatalogModel, EquipmentType

# A rating point's values and their names in messages.
RATING_KEYS = {"t": "温度t（℃）", "kw": "制热量kw（kW）", "cop": "COP"}
# Rating points (GB/T 25127.2: +7 … −25 ℃; ground-source units −30 ℃) and lowest operating
# temperatures lie well inside this span; a value outside it is a typo.
PLAUSIBLE_TEMP_C = (-50, 30)
LOW_TEMP_TYPES = {"ashp_water", "ashp_air"}   # 低温空气源热泵 are rated at −12 ℃ or colder (GB/T 25127.2)
LOW_TEMP_RATING_C = -12
EFFICIENCY_GRADES = (1, 5)                    # 能效等级 1–5
# The values checked on every write, and again before every calculation.
CATALOG_VALUES = ["equipment_type", "rated_capacity_kw", "rating_points", "seasonal_efficiency",
                  "min_operating_temp_c", "efficiency_grade", "unit_price", "install_price", "warranty_years"]
REQUIRED_VALUES = {"equipment_type", "rated_capacity_kw", "rating_points", "seasonal_efficiency", "unit_price",
                   "install_price", "warranty_years"}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one catalog value. `reason` reads after the value's name, so the API and
    the forms can name the field, and the import its row and column."""
    field: str
    reason: str
    point: int | None = None    # index in rating_points
    key: str = ""               # t / kw / cop (or an unknown key) of that point

    def __str__(self):
        label = CatalogModel._meta.get_field(self.field).verbose_name
        if self.point is None:
            return f"“{label}”{self.reason}"
        what = f"的{RATING_KEYS.get(self.key, f'“{self.key}”')}" if self.key else ""
        return f"“{label}”第{self.point + 1}个工况{what}{self.reason}"


def _not_a_number(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return "应为数字"
    if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
        return "应为有限的数字，不能是NaN或无穷大"
    return None


def _temperature_reason(value) -> str | None:
    low, high = PLAUSIBLE_TEMP_C
    return None if low <= value <= high else f"应在{low}℃到{high}℃之间"


def _value_reason(name, value, kind) -> str | None:
    if value is None:
        return "不能为空" if name in REQUIRED_VALUES else None
    if name == "equipment_type":
        return None if value in EquipmentType.values else f"“{value}”不是有效的设备类型"
    if name not in CATALOG_VALUES:
        return None   # text: Django's limits check it
    if reason := _not_a_number(value):
        return reason
    if name in ("rated_capacity_kw", "seasonal_efficiency") and value <= 0:
        return "应大于0"
    if name == "seasonal_efficiency" and kind is not None and kind not in HEAT_PUMP_TYPES and value > 1:
        return "应在0到1之间（锅炉、电暖器填热效率，如0.92，直热式电暖器填1；热泵才填COP）"
    if name in ("unit_price", "install_price", "warranty_years") and value < 0:
        return "不能为负数"
    if name == "min_operating_temp_c":
        return _temperature_reason(value)
    if name == "efficiency_grade" and (value != int(value) or not EFFICIENCY_GRADES[0] <= value <= EFFICIENCY_GRADES[1]):
        return f"应为{EFFICIENCY_GRADES[0]}到{EFFICIENCY_GRADES[1]}级"
    return None


def _point_reason(key, value) -> str | None:
    if value is None:
        return "不能为空"
    if reason := _not_a_number(value):
        return reason
    if key == "t":
        return _temperature_reason(value)
    return "应大于0" if value <= 0 else None


def _rating_point_problems(points) -> list[Problem]:
    if points is None:
        return [Problem("rating_points", "不能为空（没有额定工况数据时填 []）")]
    if not isinstance(points, list):
        return [Problem("rating_points", "应为工况列表，每个工况含t、kw、cop三项（没有额定工况数据时填 []）")]
    problems, seen = [], {}
    for i, point in enumerate(points):
        if not isinstance(point, dict):
            problems.append(Problem("rating_points", "应为含t、kw、cop三项的对象", i))
            continue
        problems += [Problem("rating_points", "不是可识别的项，只能填t、kw、cop", i, str(key))
                     for key in sorted(point.keys() - RATING_KEYS.keys(), key=str)]
        problems += [Problem("rating_points", reason, i, key) for key in RATING_KEYS
                     if (reason := _point_reason(key, point.get(key)))]
        t = point.get("t")
        if _point_reason("t", t) is None:
            if t in seen:
                problems.append(Problem("rating_points", f"与第{seen[t] + 1}个工况相同", i, "t"))
            seen.setdefault(t, i)
    return problems


def catalog_value_problems(name: str, value, kind: str | None = None) -> list[Problem]:
    """Problems of one value; `kind` (the equipment type) None checks what holds for every type."""
    if name == "rating_points":
        return _rating_point_problems(value)
    reason = _value_reason(name, value, kind)
    return [Problem(name, reason)] if reason else []


def _field_limits(values: dict, names: list[str]) -> list[Problem]:
    """Django's own limits of the model's fields (digits, decimal places, lengths)."""
    exact = {n: Decimal(str(values[n])) if isinstance(values[n], float) else values[n] for n in names}
    try:
        CatalogModel(**exact).clean_fields(
            exclude=[f.name for f in CatalogModel._meta.fields if f.name not in names])
    except ValidationError as error:
        return [Problem(name, "；".join(messages)) for name, messages in error.message_dict.items()]
    return []


def catalog_problems(values: dict) -> list[Problem]:
    """Everything wrong with these values of a catalog model (some or all of its fields)."""
    kind = values.get("equipment_type")
    problems = [p for name, value in values.items() for p in catalog_value_problems(name, value, kind)]
    wrong = {p.field for p in problems}
    if kind in LOW_TEMP_TYPES and "rating_points" in values and "rating_points" not in wrong \
            and not any(p["t"] <= LOW_TEMP_RATING_C for p in values["rating_points"]):
        problems.append(Problem("rating_points", f"缺少−{-LOW_TEMP_RATING_C}℃（或更低温度）的工况：低温空气源热泵"
                                                 f"须填写该工况的制热量和COP（GB/T 25127.2）"))
    fields = {f.name for f in CatalogModel._meta.fields}
    return problems + _field_limits(values, [n for n in values if n in fields and n not in wrong])


def model_problems(model: CatalogModel) -> list[Problem]:
    return catalog_problems({name: getattr(model, name) for name in CATALOG_VALUES})


def problem_errors(problems: list[Problem]) -> dict[str, list[str]]:
    """{field: [messages]}, as a ValidationError takes them."""
    errors = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(str(problem))
    return errors


def unusable_models(models) -> list[tuple[CatalogModel, str]]:
    """Stored models that break the catalog rules (saved before they existed, or by a way round
    them), with what is wrong: the calculation skips them, the pages tell those who can fix them."""
    return [(m, "；".join(map(str, problems))) for m in models if (problems := model_problems(m))]


