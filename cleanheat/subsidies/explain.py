"""The Chinese words of each entitlement line: its arithmetic, its inputs line by line, and the rule
of each policy item and tilt. Pure, no Django. One household (calc) and the batch (calc_batch)
phrase their lines through these same functions, so both give the same text.
"""
from .terms import (
    BP,
    FLAG_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    LEVELS,
    UNIT_MEASURES,
    UNITS,
    flag_text,
    hundredths,
    percent,
    rate_text,
    season_label,
    tenths,
    yuan,
)


def _by(flag: str) -> str:
    return f"（{FLAG_LABELS[flag]}）" if flag else ""


def _finished(name: str, expr: str, value: int, extra: int, extra_by: str, amount: int, rounded: bool) -> str:
    """"{name} = {expr} [+ 加发 …] = … 元", with the rounding said only where it shows."""
    text = f"{name} = {expr}"
    if extra:
        text += f" + 加发 {yuan(extra)}{_by(extra_by)} = {yuan(value)} + {yuan(extra)}"
    total = value + extra
    text += f" = {yuan(total)} 元" + ("（按分四舍五入）" if rounded else "")
    if amount != total:
        text += f"；不超过合同价，计 {yuan(amount)} 元"
    return text


def equipment_arithmetic(method, price, share, share_by, cap, cap_by, fixed, base, value, extra, extra_by,
                         amount) -> str:
    if method != "share":
        if not extra and amount == fixed:
            return f"设备补贴 = 定额 {yuan(fixed)} 元"
        return _finished("设备补贴", f"定额 {yuan(fixed)}", value, extra, extra_by, amount, False)
    expr = f"合同价 {yuan(price)} × {percent(share)}{_by(share_by)}"
    if cap is not None:
        expr = f"min({expr}, {yuan(cap)}{_by(cap_by)})"
    return _finished("设备补贴", expr, value, extra, extra_by, amount, value == base and (price * share) % BP != 0)


def envelope_arithmetic(area, rate, cap, cap_by, extra, extra_by, base, value, amount) -> str:
    expr = f"面积 {tenths(area)} m² × {yuan(rate)} 元/m²"
    if cap is not None:
        expr = f"min({expr}, {yuan(cap)}{_by(cap_by)})"
    return _finished("建筑节能改造补贴", expr, value, extra, extra_by, amount, value == base and (area * rate) % 10 != 0)


def operating_arithmetic(season, unit, use, rate, cap, cap_by, extra, extra_by, base, value, amount) -> str:
    expr = f"{UNIT_MEASURES[unit]} {hundredths(use)} {UNITS[unit]} × {rate_text(rate)} 元/{UNITS[unit]}"
    if cap is not None:
        expr = f"min({expr}, {yuan(cap)}{_by(cap_by)})"
    return _finished(f"运行补贴（{season_label(season)}）", expr, value, extra, extra_by, amount,
                     value == base and (use * rate) % BP != 0)


# Each input is one line; the batch memoises every line function on its arguments.

def basis_line(day, basis: str) -> str:
    """The policy version itself is the line's own (shown beside it), not repeated in every line."""
    return f"政策适用日期：{day.isoformat()}（{basis}）"


def path_line(path: str, labels) -> str:
    return f"取暖路径：{labels.paths.get(path, path)}"


def equipment_line(equipment: str) -> str:
    return f"分配设备：{equipment}" if equipment else ""


def price_line(price) -> str:
    return f"合同价：{yuan(price)} 元" if price is not None else ""


def state_line(state: str, labels, accepted_on=None, with_date: bool = True) -> str:
    when = f"（验收日期 {accepted_on.isoformat() if accepted_on else '—'}）" if with_date else ""
    return f"改造状态：{labels.states.get(state, state)}{when}"


def flags_line(flags) -> str:
    return f"困难群体：{flag_text(flags)}" if flags else ""


def area_line(area: int) -> str:
    return f"节能改造面积：{tenths(area)} m²（按采暖面积计）"


def read_on_text(read_on) -> str:
    return f"（抄表日期 {read_on.isoformat()}）" if read_on else ""


def reading_line(unit: str, opening: str, closing: str, read_on_said: str, use: str) -> str:
    """The numbers already read as hundredths() (the batch formats whole columns of them at once)."""
    return f"读数：季初 {opening}，季末 {closing}{read_on_said}，用量 {use} {UNITS[unit]}"


def seasons_line(index: int, seasons: int, start: int) -> str:
    return f"补贴季数：第{index}季，共{seasons}季（自{season_label(start)}起）"


def joined(*lines) -> str:
    return "\n".join(filter(None, lines))


def equipment_inputs(day, basis, path, equipment, price, state, accepted_on, flags, labels) -> str:
    return joined(basis_line(day, basis), path_line(path, labels), equipment_line(equipment),
                  price_line(price), state_line(state, labels, accepted_on), flags_line(flags))


def envelope_inputs(day, basis, area, state, flags, labels) -> str:
    return joined(basis_line(day, basis), area_line(area), state_line(state, labels, with_date=False),
                  flags_line(flags))


def operating_inputs(day, basis, unit, opening, closing, read_on, index, seasons, start, flags) -> str:
    """(The season is in the arithmetic.)"""
    return joined(basis_line(day, basis), reading_line(unit, hundredths(opening), hundredths(closing), read_on_text(read_on),
                               hundredths(closing - opening)), seasons_line(index, seasons, start),
                  flags_line(flags))


def describe_item(item, labels) -> str:
    """The rule of an item as the household page and the policy page show it."""
    scope = "、".join(x for x in (labels.paths.get(item.path, item.path) if item.path else "",
                                  labels.devices.get(item.device, item.device) if item.device else "") if x) or "各取暖路径"
    if item.kind == "equipment":
        rule = (f"合同价的{percent(item.share_bp)}" + (f"，最高{yuan(item.cap_fen)}元" if item.cap_fen is not None else "")
                if item.method == "share" else f"定额{yuan(item.fixed_fen)}元")
    elif item.kind == "envelope":
        rule = f"每平方米{yuan(item.rate)}元" + (f"，最高{yuan(item.cap_fen)}元" if item.cap_fen is not None else "")
    else:
        u = UNITS.get(item.unit, item.unit)
        rule = (f"每{u} {rate_text(item.rate)}元" + (f"，每季最高{yuan(item.cap_fen)}元" if item.cap_fen is not None else "")
                + f"，共{item.seasons}个采暖季")
    shares = "、".join(f"{LEVEL_LABELS[lv]}{percent(b)}" for lv, b in zip(LEVELS, item.shares_bp))
    label = f"“{item.label}”" if item.label else ""
    return f"第{item.position}项{label} {KIND_LABELS[item.kind]}（{scope}）：{rule}；分级负担 {shares}"


def describe_tilt(tilt, labels) -> str:
    scope = labels.paths.get(tilt.path, tilt.path) if tilt.path else "各取暖路径"
    effects_ = [f"比例提高至{percent(tilt.share_bp)}" if tilt.share_bp is not None else "",
                f"上限提高至{yuan(tilt.cap_fen)}元" if tilt.cap_fen is not None else "",
                f"加发{yuan(tilt.extra_fen)}元" if tilt.extra_fen is not None else ""]
    return f"{FLAG_LABELS[tilt.flag]}户 · {KIND_LABELS[tilt.kind]}（{scope}）：{'，'.join(e for e in effects_ if e)}"


