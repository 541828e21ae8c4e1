"""What a subsidy policy must satisfy before it is stored. Pure functions, no Django.

The web form, the admin, the .xlsx import and the demo data all ask here, with values already
read as numbers (Decimal), dates and codes; each problem names its section (policy, item, tilt),
the row in that section and the field, so that every door can say where it lies.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from .terms import FLAG_LABELS, KIND_LABELS, LEVELS, METHODS, UNITS

HUNDRED = Decimal(100)
MAX_YUAN = Decimal(100_000_000)       # any cap, fixed amount or rate stays below this
MAX_SEASONS = 30
YEARS = (2000, 2100)
ITEM_FIELDS = {   # field → its name on every door
    "kind": "类别", "label": "名称", "path": "取暖路径", "device": "设备类型", "method": "计算方式",
    "share_pct": "补贴比例（%）", "cap_yuan": "上限（元）", "fixed_yuan": "定额（元）",
    "rate_yuan": "单价（元/m² 或 元/计量单位）", "unit": "计量单位", "seasons": "补贴季数",
    "central_pct": "中央负担（%）", "provincial_pct": "省级负担（%）", "city_pct": "市级负担（%）",
    "county_pct": "县级负担（%）",
}
TILT_FIELDS = {"flag": "困难群体", "kind": "类别", "path": "取暖路径", "share_pct": "提高比例至（%）",
               "cap_yuan": "提高上限至（元）", "extra_yuan": "加发（元）"}
POLICY_FIELDS = {"region": "区划", "year": "年度", "title": "政策名称", "document_no": "文号",
                 "effective_from": "施行日期", "effective_until": "截止日期", "illustrative": "示意数据",
                 "note": "说明"}
SHARE_FIELDS = [f"{level}_pct" for level in LEVELS]
# Which fields each kind of item uses (the others must stay empty, so nobody believes a value counts).
USES = {
    ("equipment", "share"): {"share_pct", "cap_yuan"},
    ("equipment", "fixed"): {"fixed_yuan"},
    ("envelope", ""): {"rate_yuan", "cap_yuan"},
    ("operating", ""): {"rate_yuan", "unit", "seasons", "cap_yuan"},
}
OPTIONAL = {"cap_yuan"}
VALUE_FIELDS = {"share_pct", "cap_yuan", "fixed_yuan", "rate_yuan", "unit", "seasons"}
RATE_PLACES = {"envelope": 2, "operating": 4}


@dataclass(frozen=True)
class Problem:
    section: str            # "policy", "item" or "tilt"
    index: int | None       # row in the section, from 0
    field: str | None
    message: str

    def __str__(self):
        where = {"item": "补贴项目", "tilt": "倾斜规则"}.get(self.section)
        return f"{where}第{self.index + 1}行：{self.message}" if where and self.index is not None else self.message


def _places(value: Decimal) -> int:
    """Decimals that count (70.00 has none)."""
    return max(0, -Decimal(value).normalize().as_tuple().exponent)


def _money(value, name, add, *, places=2, positive=False):
    if value is None:
        return
    if value < 0:
        add(f"{name}不能小于0（填写的是{value}）")
    elif positive and value == 0:
        add(f"{name}应大于0")
    elif value >= MAX_YUAN:
        add(f"{name}{value}超出合理范围")
    elif _places(value) > places:
        add(f"{name}最多保留{places}位小数（填写的是{value}）")


def _percent(value, name, add, *, positive=False):
    if value is None:
        return
    if not (0 < value <= HUNDRED if positive else 0 <= value <= HUNDRED):
        add(f"{name}应在{'0（不含）' if positive else '0'}到100之间（填写的是{value}）")
    elif _places(value) > 2:
        add(f"{name}最多保留两位小数（填写的是{value}）")


def item_problems(item: dict, index: int, paths: dict, devices: dict) -> list[Problem]:
    """One item: its kind, scope, values and level shares. devices: {type: path}."""
    problems = []

    def adder(field):
        return lambda message: problems.append(Problem("item", index, field, message))
    kind, method = item.get("kind") or "", item.get("method") or ""
    if kind not in KIND_LABELS:
        adder("kind")("类别应为" + "、".join(KIND_LABELS.values()))
        return problems
    path, device = item.get("path") or "", item.get("device") or ""
    if path and path not in paths:
        adder("path")(f"取暖路径“{path}”无法识别")
    if device:
        if device not in devices:
            adder("device")(f"设备类型“{device}”无法识别")
        elif kind != "equipment":
            adder("device")("只有设备补贴可以按设备类型区分")
        elif path and devices[device] != path:
            adder("device")("设备类型与取暖路径不符")
    if kind == "equipment" and method not in METHODS:
        adder("method")("设备补贴的计算方式应为" + "或".join(METHODS.values()))
        return problems
    if kind != "equipment" and method:
        adder("method")(f"{KIND_LABELS[kind]}不填计算方式")
    uses = USES[(kind, method if kind == "equipment" else "")]
    for field in sorted(VALUE_FIELDS - uses):
        if item.get(field) not in (None, ""):
            adder(field)(f"{KIND_LABELS[kind]}{'（' + METHODS[method] + '）' if method else ''}不填“{ITEM_FIELDS[field]}”")
    for field in sorted(uses - OPTIONAL):
        if item.get(field) in (None, ""):
            adder(field)(f"“{ITEM_FIELDS[field]}”不能为空")
    _percent(item.get("share_pct"), "补贴比例", adder("share_pct"), positive=True)
    _money(item.get("cap_yuan"), "上限", adder("cap_yuan"))
    _money(item.get("fixed_yuan"), "定额", adder("fixed_yuan"), positive=True)
    if kind in RATE_PLACES:
        _money(item.get("rate_yuan"), "单价", adder("rate_yuan"), places=RATE_PLACES[kind], positive=True)
    unit = item.get("unit") or ""
    if kind == "operating" and unit and unit not in UNITS:
        adder("unit")("计量单位应为 " + "、".join(UNITS.values()))
    seasons = item.get("seasons")
    if kind == "operating" and seasons is not None and not 1 <= seasons <= MAX_SEASONS:
        adder("seasons")(f"补贴季数应在1到{MAX_SEASONS}之间（填写的是{seasons}）")
    shares = [item.get(f) for f in SHARE_FIELDS]
    for field, value in zip(SHARE_FIELDS, shares):
        if value is None:
            adder(field)(f"“{ITEM_FIELDS[field]}”不能为空（不负担的级次填0）")
        else:
            _percent(value, ITEM_FIELDS[field].replace("（%）", "比例"), adder(field))
    if None not in shares and sum(shares) != HUNDRED:
        adder("county_pct")(f"分级负担比例合计为{sum(shares).normalize():f} %，应为100 %"
                            f"（中央、省级、市级、县级之和）")
    return problems


def tilt_problems(tilt: dict, index: int, paths: dict) -> list[Problem]:
    problems = []

    def adder(field):
        return lambda message: problems.append(Problem("tilt", index, field, message))
    if tilt.get("flag") not in FLAG_LABELS:
        adder("flag")("困难群体应为" + "、".join(FLAG_LABELS.values()))
    kind = tilt.get("kind") or ""
    if kind not in KIND_LABELS:
        adder("kind")("类别应为" + "、".join(KIND_LABELS.values()))
    path = tilt.get("path") or ""
    if path and path not in paths:
        adder("path")(f"取暖路径“{path}”无法识别")
    share, cap, extra = tilt.get("share_pct"), tilt.get("cap_yuan"), tilt.get("extra_yuan")
    if share is None and cap is None and extra is None:
        adder("share_pct")("请至少填写“提高比例至”“提高上限至”“加发”中的一项")
    if share is not None and kind != "equipment":
        adder("share_pct")("提高比例只适用于设备补贴（按合同价比例）")
    _percent(share, "提高后的比例", adder("share_pct"), positive=True)
    _money(cap, "提高后的上限", adder("cap_yuan"))
    _money(extra, "加发金额", adder("extra_yuan"), positive=True)
    return problems


def _scope(item: dict) -> tuple:
    return (item.get("kind"), item.get("path") or "", item.get("device") or "",
            item.get("unit") or "" if item.get("kind") == "operating" else "")


def header_problems(header: dict) -> list[Problem]:
    """The policy's own fields: its title, year and dates."""
    problems = []

    def add(field, message):
        problems.append(Problem("policy", None, field, message))
    if not (header.get("title") or "").strip():
        add("title", "政策名称不能为空")
    year = header.get("year")
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        add("year", f"年度应在{YEARS[0]}到{YEARS[1]}之间")
    start, end = header.get("effective_from"), header.get("effective_until")
    if start is None:
        add("effective_from", "施行日期不能为空")
    elif end is not None and end < start:
        add("effective_until", f"截止日期{end.isoformat()}早于施行日期{start.isoformat()}")
    return problems


def policy_problems(header: dict, items: list[dict], tilts: list[dict], *, paths: dict, devices: dict) -> list[Problem]:
    """The whole policy: its header, every item and tilt, and items or tilts named twice."""
    problems = header_problems(header)
    if not items:
        problems.append(Problem("policy", None, None, "政策至少要有一个补贴项目"))
    seen = {}
    for i, item in enumerate(items):
        found = item_problems(item, i, paths, devices)
        problems += found
        if not found:
            if (first := seen.setdefault(_scope(item), i)) != i:
                problems.append(Problem("item", i, "path", f"与第{first + 1}行的适用范围相同（同一类别、取暖路径、"
                                                            f"设备类型{'、计量单位' if item['kind'] == 'operating' else ''}）"))
    seen = {}
    for i, tilt in enumerate(tilts):
        found = tilt_problems(tilt, i, paths)
        problems += found
        key = (tilt.get("flag"), tilt.get("kind"), tilt.get("path") or "")
        if not found and (first := seen.setdefault(key, i)) != i:
            problems.append(Problem("tilt", i, "flag", f"与第{first + 1}行重复（同一困难群体、类别、取暖路径）"))
    return problems


def overlap_problems(start, end, others: list[tuple]) -> list[Problem]:
    """A version's [start, end] against the other versions of the same policy [(version, start, end)]:
    no two start on the same day, and none ends after the next one starts (an open end runs until the
    next version starts)."""
    problems = []
    for version, other_start, other_end in others:
        if other_start == start:
            problems.append(Problem("policy", None, "effective_from",
                                    f"与第{version}版的施行日期相同（{start.isoformat()}），同一天只能有一个版本开始施行"))
        elif other_start < start and other_end is not None and other_end >= start:
            problems.append(Problem("policy", None, "effective_from",
                                    f"施行日期{start.isoformat()}落在第{version}版的施行期内"
                                    f"（{other_start.isoformat()}至{other_end.isoformat()}）"))
        elif start < other_start and end is not None and end >= other_start:
            problems.append(Problem("policy", None, "effective_until",
                                    f"截止日期{end.isoformat()}晚于第{version}版的施行日期{other_start.isoformat()}，"
                                    f"应不晚于{(other_start - timedelta(days=1)).isoformat()}"))
    return problems
