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


# ---- the city's edits: items checked before a new version is written, and what changed -----------

TYPES = {"yes_no": "是/否", "number": "数值", "photo": "照片", "text": "文字"}
SEVERITIES = {"normal": "一般", "serious": "严重"}
LIMITS = ("min", "max", "valid_min", "valid_max")
LIMIT_LABELS = {"min": "合格下限", "max": "合格上限", "valid_min": "可填写的最小值", "valid_max": "可填写的最大值"}
FIELD_LABELS = {"text": "检查内容", "type": "类型", "required": "必填", "expected": "合格答案", **LIMIT_LABELS,
                "unit": "单位", "severity": "问题等级"}
TEXT_LENGTH, UNIT_LENGTH, CODE_LENGTH = 200, 10, 40
LIMIT_BOUND = Decimal("99999999")   # the stored limits: 10 digits, 2 after the point
DEFAULTS = {"required": True, "expected": True, "min": None, "max": None, "valid_min": None, "valid_max": None,
            "unit": "", "severity": "normal"}


def _flag(value, default: bool) -> bool:
    if value is None or str(value).strip() == "":
        return default
    return value if isinstance(value, bool) else str(value).strip().lower() in YES


def _limit(item: dict, key: str, row: str, problems: list) -> Decimal | None:
    raw = item.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    number = _number(raw)
    if number is None:
        problems.append(f"{row}：{LIMIT_LABELS[key]}应为数字，而不是“{raw}”")
    elif abs(number) > LIMIT_BOUND or number != number.quantize(Decimal("0.01")):
        problems.append(f"{row}：{LIMIT_LABELS[key]}{raw}超出可保存的范围（最多8位整数、2位小数）")
    else:
        return number
    return None


def _one_item(item: dict, row: str, problems: list) -> dict:
    """One item normalised (fields that do not apply to its type cleared), its problems appended."""
    text = " ".join(str(item.get("text") or "").split())
    kind = str(item.get("type") or "").strip()
    out = {**DEFAULTS, "code": str(item.get("code") or "").strip(), "text": text, "type": kind,
           "required": _flag(item.get("required"), True), "severity": str(item.get("severity") or "normal")}
    if not text:
        problems.append(f"{row}：检查内容不能为空")
    elif len(text) > TEXT_LENGTH:
        problems.append(f"{row}：检查内容过长（最多{TEXT_LENGTH}个字）")
    label = f"{row}“{text}”" if text else row
    if not out["code"] or len(out["code"]) > CODE_LENGTH or not out["code"].replace("_", "").isalnum() \
            or not out["code"].isascii():
        problems.append(f"{label}：代码“{out['code']}”应为1～{CODE_LENGTH}位英文字母、数字或下划线")
    if kind not in TYPES:
        problems.append(f"{label}：类型应为{'、'.join(TYPES.values())}之一，而不是“{kind}”")
    if out["severity"] not in SEVERITIES:
        problems.append(f"{label}：问题等级应为“一般”或“严重”")
    if kind == "yes_no":
        out["expected"] = _flag(item.get("expected"), True)
    if kind == "number":
        out.update({key: _limit(item, key, label, problems) for key in LIMITS})
        out["unit"] = " ".join(str(item.get("unit") or "").split())
        if len(out["unit"]) > UNIT_LENGTH:
            problems.append(f"{label}：单位过长（最多{UNIT_LENGTH}个字）")
        _check_range(out, label, problems)
    return out


def _check_range(out: dict, label: str, problems: list):
    low, high, vlow, vhigh = (out[k] for k in LIMITS)
    say = {k: "" if out[k] is None else plain(out[k]) for k in LIMITS}
    if low is not None and high is not None and low > high:
        problems.append(f"{label}：合格下限{say['min']}不能大于合格上限{say['max']}")
    if vlow is not None and vhigh is not None and vlow > vhigh:
        problems.append(f"{label}：可填写的最小值{say['valid_min']}不能大于最大值{say['valid_max']}")
    for key in ("min", "max"):
        value = out[key]
        if value is not None and ((vlow is not None and value < vlow) or (vhigh is not None and value > vhigh)):
            problems.append(f"{label}：{LIMIT_LABELS[key]}{say[key]}不在可填写的范围"
                            f"（{say['valid_min']}～{say['valid_max']}）之内")


def check_items(items: list[dict]) -> tuple[list[dict], list[str]]:
    """(the items normalised, in order; every problem, each naming its row as 第N项). A checklist needs
    at least one item; two items may not share a code or the same wording."""
    problems, out, codes, texts = [], [], {}, {}
    if not items:
        problems.append("检查清单至少要有一项")
    for n, item in enumerate(items, 1):
        row = f"第{n}项"
        one = _one_item(item, row, problems)
        if one["code"] in codes:
            problems.append(f"{row}与第{codes[one['code']]}项的代码“{one['code']}”重复")
        if one["text"] and one["text"] in texts:
            problems.append(f"{row}与第{texts[one['text']]}项的检查内容“{one['text']}”重复")
        codes.setdefault(one["code"], n)
        if one["text"]:
            texts.setdefault(one["text"], n)
        out.append(one)
    return out, problems


def _shown(key: str, value) -> str:
    if key in ("required", "expected"):
        return "是" if value else "否"
    if key == "type":
        return TYPES.get(value, value)
    if key == "severity":
        return SEVERITIES.get(value, value)
    if key in LIMITS and value is not None:
        return plain(value)
    return "（空）" if value is None or value == "" else str(value)


def changes(before: list[dict], after: list[dict]) -> list[str]:
    """What changed from one version's items to the next, in words: items added, removed, changed
    (field by field) and a new order."""
    old, new = {i["code"]: i for i in before}, {i["code"]: i for i in after}
    said = [f"新增：{i['text']}" for i in after if i["code"] not in old]
    said += [f"删除：{i['text']}" for i in before if i["code"] not in new]
    for item in after:
        was = old.get(item["code"])
        if was is None:
            continue
        diff = [f"{FIELD_LABELS[k]} {_shown(k, was.get(k))}→{_shown(k, item.get(k))}" for k in FIELD_LABELS
                if _compared(k, was.get(k)) != _compared(k, item.get(k))]
        if diff:
            said.append(f"修改：{was['text']}（{'；'.join(diff)}）")
    kept_before = [c for c in old if c in new]
    kept_after = [c for c in new if c in old]
    if kept_before != kept_after:
        said.append("调整了检查项顺序")
    return said


def plain(value) -> str:
    """A limit as people write it: 18, 0.5 (no trailing zeros, no exponent)."""
    return format(Decimal(str(value)).normalize(), "f")


def _compared(key: str, value):
    if key in LIMITS and value is not None:
        return Decimal(str(value)).normalize()
    return value
