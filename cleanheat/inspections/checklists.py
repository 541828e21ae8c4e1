"""A filled checklist judged against its items (no Django).

Method: each item is a dict (code, text, type yes_no/number/photo/text, required, expected answer of
a yes/no item, min/max of a number, unit, severity). `judge` parses every answer and returns the
refusals (an answer that cannot be stored: a missing required value, a number that is not a number
or lies outside the item's limits, a required photo not attached) and the failed items (a stored
answer that does not meet the item: "no" where "yes" is expected). Source of the items: the
checklists of the city (data/checklists.json, editable by the city, versioned); of the limits: the
plan (《实施方案》六.1 竣工验收, 五(三) 自查, 五(四) 考核, 七(三) 联合督导).
"""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

YES = {"yes", "是", "true", "1", "on", "合格", "y"}
NO = {"no", "否", "false", "0", "off", "不合格", "n"}


@dataclass
class Judgement:
    values: dict = field(default_factory=dict)     # item code → stored value
    refusals: list = field(default_factory=list)   # (item code, message)
    failed: list = field(default_factory=list)     # (item code, what was found)

    @property
    def passed(self) -> bool:
        return not self.refusals and not self.failed


def _number(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _limits(item) -> str:
    low, high, unit = item.get("min"), item.get("max"), item.get("unit") or ""
    if low is not None and high is not None:
        return f"{low}～{high}{unit}"
    return f"≥{low}{unit}" if low is not None else f"≤{high}{unit}"


def judge(items: list[dict], answers: dict, photos: dict | None = None) -> Judgement:
    """answers: item code → the value typed; photos: item code → number of photos attached."""
    result, photos = Judgement(), photos or {}
    known = {item["code"] for item in items}
    for code in sorted(set(answers) - known):
        result.refusals.append((code, f"检查项“{code}”不在本检查清单中"))
    for item in items:
        code, text, kind = item["code"], item["text"], item["type"]
        raw = answers.get(code)
        blank = raw is None or str(raw).strip() == ""
        if kind == "photo":
            count = photos.get(code, 0)
            if item.get("required", True) and not count:
                result.refusals.append((code, f"“{text}”须上传照片"))
            result.values[code] = count
            continue
        if blank:
            if item.get("required", True):
                result.refusals.append((code, f"请填写“{text}”"))
            continue
        if kind == "yes_no":
            word = str(raw).strip().lower()
            if word not in YES | NO:
                result.refusals.append((code, f"“{text}”应填“是”或“否”，而不是“{raw}”"))
                continue
            value = word in YES
            result.values[code] = value
            if value != item.get("expected", True):
                result.failed.append((code, f"{text}：{'是' if value else '否'}"))
        elif kind == "number":
            number = _number(raw)
            if number is None:
                result.refusals.append((code, f"“{text}”应为数字，而不是“{raw}”"))
                continue
            lo, hi = item.get("valid_min"), item.get("valid_max")
            if (lo is not None and number < Decimal(str(lo))) or (hi is not None and number > Decimal(str(hi))):
                unit = item.get("unit") or ""
                result.refusals.append((code, f"“{text}”填写的{number}{unit}超出可能的范围（{lo}～{hi}{unit}），请核对"))
                continue
            low, high = item.get("min"), item.get("max")
            if (low is not None and number < Decimal(str(low))) or (high is not None and number > Decimal(str(high))):
                # outside the pass limits but plausible: a finding, not a typing error
                result.failed.append((code, f"{text}：{number}{item.get('unit') or ''}（应为{_limits(item)}）"))
            result.values[code] = str(number)
        else:
            value = " ".join(str(raw).split())
            if len(value) > 200:
                result.refusals.append((code, f"“{text}”过长（最多200个字）"))
                continue
            result.values[code] = value
    return result
