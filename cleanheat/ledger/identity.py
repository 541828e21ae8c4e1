"""Resident ID numbers (GB 11643-1999) and mobile phones: normalising, checking, masking.

Pure functions, no Django: the same checks serve forms, the API, imports and the demo generator.
Errors are ValueError with a Chinese message a clerk can act on.
"""
import re
from datetime import date

from cleanheat.inputs import normalise_text

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def _check_birth_date(number: str, birth: str) -> None:
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        raise ValueError(f"身份证号“{number}”中的出生日期 {birth} 不是有效日期") from None
    if born.year < 1880 or born > date.today():
        raise ValueError(f"身份证号“{number}”中的出生日期 {birth} 不合理")


def upgrade_15_to_18(number15: str) -> str:
    """GB 11643-1989 numbers: insert the century (19) and append the check character."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + id_check_char(first17)


def normalise_id_number(value) -> str:
    """Return the canonical 18-character ID number or raise ValueError explaining why not."""
    number = normalise_text(value).upper()
    if not number:
        raise ValueError("身份证号不能为空")
    if re.fullmatch(r"\d+(\.\d+)?E\+?\d+", number):
        raise ValueError(f"身份证号“{number}”被 Excel 存成了数字，末几位已丢失；"
                         "请把该列设置为“文本”格式后重新填写")
    if re.fullmatch(r"\d{15}", number):
        _check_birth_date(number, "19" + number[6:12])
        return upgrade_15_to_18(number)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise ValueError(f"身份证号“{number}”应为18位（最后一位可以是X）或15位数字，"
                         f"现在是{len(number)}位")
    _check_birth_date(number, number[6:14])
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise ValueError(f"身份证号“{number}”校验位不正确（按GB 11643应为{expected}），请核对是否抄错")
    return number


def normalise_mobile(value) -> str:
    phone = normalise_text(value)
    if phone.startswith("+86"):
        phone = phone[3:]
    if not MOBILE_RE.match(phone):
        raise ValueError(f"手机号“{phone}”格式不正确：应为1开头的11位数字，第二位为3至9")
    return phone


def mask_id_number(number: str) -> str:
    """First 6 and last 4 at most, e.g. 140902********123X."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


def mask_name(name: str) -> str:
    """A name as a public notice shows it (PIPL Art. 51): the first and last characters, one * for
    each between (王*国, 欧阳**华); a two-character name keeps its first (李*)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_public(masked_or_full: str) -> str:
    """An ID number as a public notice shows it: the first 4 (the city) and the last 4, e.g.
    1409**********0016. Works from the stored masked form (first 6 and last 4), so nothing is
    decrypted."""
    value = masked_or_full or ""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_mobile(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "*" * len(phone)


def normalise_bank_account(value) -> str:
    account = normalise_text(value)
    if not re.fullmatch(r"\d{12,30}", account):
        raise ValueError(f"银行账号“{account}”应为12至30位数字")
    return account


def normalise_utility_account(value, label: str = "户号") -> str:
    """An electricity or gas account number (电力户号, 燃气户号): 4 to 30 digits or Latin letters
    (some gas companies' numbers carry letters), upper case; spaces and hyphens are dropped."""
    account = normalise_text(value).upper()
    if not re.fullmatch(r"[0-9A-Z]{4,30}", account):
        raise ValueError(f"{label}“{account}”应为4至30位数字或字母")
    return account


def mask_utility_account(account: str) -> str:
    """First 2 and last 4, e.g. 01******5678."""
    return account[:2] + "*" * (len(account) - 6) + account[-4:] if len(account) > 6 else "*" * len(account)


def mask_bank_account(account: str) -> str:
    """First 4 and last 4, e.g. 6217********1234."""
    return account[:4] + "*" * (len(account) - 8) + account[-4:] if len(account) > 8 else "*" * len(account)


# Personal digits inside free text (log lines, URLs, audit details, messages): runs of 15 or more
# characters (ID numbers, the last may be X; bank cards) keep the first 6 and last 4, mobiles (11
# digits from 1, maybe after 86) the first 3 and last 4. Region codes (12 digits), household
# numbers (13) and contract numbers are not personal and stay readable. \d covers full-width digits.
_PERSONAL_DIGITS = re.compile(r"(?<!\d)(?:(\d{14,}(?:\d|[XxＸｘ]))|(86)?(1\d{10}))(?!\d)")


def _mask_match(match) -> str:
    long_run, country, mobile = match.groups()
    if long_run:
        return long_run[:6] + "*" * (len(long_run) - 10) + long_run[-4:]
    return (country or "") + mask_mobile(mobile)


def mask_identifiers(text: str) -> str:
    """`text` with every ID-number-, bank-card- or mobile-like run of digits masked."""
    return _PERSONAL_DIGITS.sub(_mask_match, text)


def looks_like_identifier(term) -> bool:
    """Whether a search term, as the search reads it, holds an ID number, bank card or mobile."""
    text = normalise_text(term)
    return mask_identifiers(text) != text
