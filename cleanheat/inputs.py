"""Numbers and text as people type them, checked alike on every door (forms, API, imports, CLI).

Pure functions, no Django. A value is taken as typed or refused with a Chinese message
(ValueError): a minus sign, a decimal the database would round or a NaN is never changed quietly.
"""
import re
from decimal import Decimal, InvalidOperation

# Full-width digits, signs and the ideographic space, as Chinese input methods type them.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
# Control characters (tab and line breaks aside) and lone surrogates: nobody types them, PostgreSQL
# refuses NUL, a surrogate cannot be stored as UTF-8, and the others garble pages and exports.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# Beyond any quantity the ledger counts, and within what Decimal and int handle exactly.
MAX_DIGITS = 18
_PLACES = {1: "一", 2: "两", 3: "三"}


def normalise_text(value) -> str:
    """Half-width, trimmed, inner whitespace removed (IDs and phones never contain spaces)."""
    text = str(value or "").translate(_FULLWIDTH)
    return re.sub(r"[\s\-]", "", text)


def unprintable(value: str) -> bool:
    return _UNPRINTABLE.search(value) is not None


def unstorable(value: str) -> bool:
    """NUL or a lone surrogate: what no text column can hold, whatever the field."""
    return _UNSTORABLE.search(value) is not None


def shown(value, limit=30) -> str:
    """The value as a message quotes it: a hostile 5,000-digit number is not echoed in full."""
    value = str(value)
    return value if len(value) <= limit else value[:limit] + "…"


def _number_text(value, units) -> str | None:
    """The number as plain text ("-5", "88.50"); None for what is no plain number (NaN, a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        try:
            number = Decimal(repr(value) if isinstance(value, float) else value)
        except InvalidOperation:
            return None
        return format(number, "f") if number.is_finite() else None
    text = str(value if value is not None else "").translate(_FULLWIDTH).strip()
    for unit in units:
        if text.lower().endswith(unit.lower()):
            return text[:-len(unit)].strip()
    return text


def _digits(text: str) -> int:
    return len(text.lstrip("+-").split(".")[0].lstrip("0"))


def decimal(value, label: str, *, places: int, units=(), what: str = "数字") -> Decimal:
    """A decimal number with at most `places` decimals (trailing zeros do not count)."""
    text = _number_text(value, units)
    if text is None or not _DECIMAL.fullmatch(text):
        raise ValueError(f"{label}“{shown(value)}”应为{what}")
    if _digits(text) > MAX_DIGITS:
        raise ValueError(f"{label}“{shown(value)}”超出合理范围")
    number = Decimal(text)
    step = Decimal(1).scaleb(-places)
    if number != number.quantize(step):
        raise ValueError(f"{label}最多保留{_PLACES.get(places, places)}位小数（“{shown(value)}”），请核对后重新填写")
    return number.quantize(step)


def integer(value, label: str, *, units=(), what: str = "整数") -> int:
    """A whole number: "3", 3, or a number that is whole (3.0); 3.5 is refused, not cut to 3."""
    text = _number_text(value, units)
    if text is not None and not isinstance(value, str) and _DECIMAL.fullmatch(text) \
            and Decimal(text) == Decimal(text).to_integral_value():
        text = format(Decimal(text).to_integral_value(), "f")
    if text is None or not _INTEGER.fullmatch(text):
        raise ValueError(f"{label}“{shown(value)}”应为{what}")
    if _digits(text) > MAX_DIGITS:
        raise ValueError(f"{label}“{shown(value)}”超出合理范围")
    return int(text)


def text(value, label: str, *, max_length: int | None = None, required: bool = False) -> str:
    """One line of text: whitespace runs (line breaks, tabs) become one space; control characters
    are refused and an over-long text is refused, never cut short."""
    raw = str(value if value is not None else "")
    if unprintable(raw):
        raise ValueError(f"{label}含有不可见的控制字符，请删除后重新填写")
    line = " ".join(raw.split())
    if required and not line:
        raise ValueError(f"{label}不能为空")
    if max_length is not None and len(line) > max_length:
        raise ValueError(f"{label}过长（最多{max_length}个字）")
    return line
