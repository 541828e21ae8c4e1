"""12-digit statistical division codes: 2 province + 2 city + 2 county + 3 township + 3 village.

The code prefix is the hierarchy. Pure functions, no Django.
"""
CITY, COUNTY, TOWNSHIP, VILLAGE = 1, 2, 3, 4
PREFIX_LENGTH = {CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_NAMES = {CITY: "市", COUNTY: "县（市、区）", TOWNSHIP: "乡（镇、街道）", VILLAGE: "村（社区）"}


def level_of(code: str) -> int:
    """Level of a 12-digit code by its trailing zeros (140900000000 is a city)."""
    if len(code) != 12 or not code.isdigit():
        raise ValueError(f"区划代码“{code}”应为12位数字")
    if code[9:] != "000":
        return VILLAGE
    if code[6:9] != "000":
        return TOWNSHIP
    if code[4:6] != "00":
        return COUNTY
    return CITY


def prefix_of(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of(code)]]


def full_code(prefix: str) -> str:
    return prefix.ljust(12, "0")


def township_kind(code: str) -> str:
    """National rule for the township digits: 000–099 街道, 100–199 镇, 200–299 乡."""
    number = int(code[6:9])
    if number < 100:
        return "街道"
    if number < 200:
        return "镇"
    if number < 300:
        return "乡"
    return "其他"


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string above every code with this prefix: lets `code >= p and code < bound`
    use a plain B-tree index on both SQLite and PostgreSQL, whatever the collation."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\uffff"
