"""12-digit statistical division codes: 2 province + 2 city + 2 county + 3 township + 3 village.

The code prefix is the hierarchy. Pure functions, no Django. The kinds follow the national coding
rules (统计用区划代码编制规则): the digits of each level say what kind of unit it is.
"""
PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = 0, 1, 2, 3, 4
PREFIX_LENGTH = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
LEVEL_NAMES = {PROVINCE: "省（自治区、直辖市）", CITY: "市", COUNTY: "县（市、区）", TOWNSHIP: "乡（镇、街道）",
               VILLAGE: "村（社区）"}
PROVINCE_KINDS = (("自治区", "自治区"), ("特别行政区", "特别行政区"), ("省", "省"), ("市", "直辖市"))
CITY_KINDS = (("自治州", "自治州"), ("地区", "地区"), ("盟", "盟"), ("市", "地级市"))


def level_of(code: str) -> int:
    """Level of a 12-digit code by its trailing zeros (140900000000 is a city, 140000000000 a province)."""
    if len(code) != 12 or not code.isdigit():
        raise ValueError(f"区划代码“{code}”应为12位数字")
    if code[9:] != "000":
        return VILLAGE
    if code[6:9] != "000":
        return TOWNSHIP
    if code[4:6] != "00":
        return COUNTY
    if code[2:4] != "00":
        return CITY
    return PROVINCE


def parent_of(code: str) -> str | None:
    """The 12-digit code of the unit above (None for a province)."""
    level = level_of(code)
    return full_code(code[: PREFIX_LENGTH[level - 1]]) if level > PROVINCE else None


def prefix_of(code: str) -> str:
    return code[: PREFIX_LENGTH[level_of(code)]]


def full_code(prefix: str) -> str:
    return prefix.ljust(12, "0")


def township_kind(code: str) -> str:
    """National rule for the township digits: 000–099 街道, 100–199 镇, 200–399 乡 (苏木),
    400–599 类似乡级单位 (开发区、工矿区、农场 …)."""
    number = int(code[6:9])
    if number < 100:
        return "街道"
    if number < 200:
        return "镇"
    if number < 400:
        return "乡"
    return "类似乡级单位" if number < 600 else "其他"


def village_kind(code: str) -> str:
    """National rule for the village digits: 001–199 居委会 and 400–499 类似居委会 are 社区,
    200–399 村委会 and 500–599 类似村委会 are 村."""
    return "村" if code[9] in "235" else "社区"


def county_kind(code: str, name: str) -> str:
    """01–20 市辖区, 21–70 县 (旗), 71–80 功能区 (开发区、风景名胜区), 81–99 县级市."""
    number = int(code[4:6])
    if number <= 20:
        return "区"
    if number <= 70:
        return "旗" if name.endswith("旗") else "县"
    return "功能区" if number <= 80 else "县级市"


def kind_of(code: str, name: str) -> str:
    """The kind of any unit, from its code (and for provinces, cities and 旗 its name)."""
    level = level_of(code)
    if level in (PROVINCE, CITY):
        table = PROVINCE_KINDS if level == PROVINCE else CITY_KINDS
        return next((kind for suffix, kind in table if name.endswith(suffix)), "")
    if level == COUNTY:
        return county_kind(code, name)
    return township_kind(code) if level == TOWNSHIP else village_kind(code)


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string above every code with this prefix: lets `code >= p and code < bound`
    use a plain B-tree index on both SQLite and PostgreSQL, whatever the collation."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\uffff"
