"""What a household's energy reading must satisfy (one meter, one unit, seasons in order). Pure, no Django.

A season's reading is the meter at its start (opening) and end (closing); the opening may be left
out when an earlier season is on record, and is then that season's closing. A meter never runs
back: the closing is not below the opening, the opening not below the closing of the season
before, and the closing not above the opening of the season after.
"""
from decimal import Decimal

from .terms import UNITS, season_label

MAX_READING = Decimal(100_000_000)   # far above any household's meter; keeps the arithmetic exact
SEASONS = (2000, 2100)
FIELDS = {"household_no": "户编号", "season": "采暖季", "unit": "计量单位", "opening": "季初读数",
          "closing": "季末读数", "read_on": "抄表日期"}


def _n(value) -> str:
    """4000.00 → 4000, 12.50 → 12.5 (as a person wrote it)."""
    return format(Decimal(value).normalize(), "f")


def _number_problem(value, label) -> str | None:
    if value < 0:
        return f"{label}不能为负数（填写的是{_n(value)}）"
    if value >= MAX_READING:
        return f"{label}{_n(value)}超出合理范围"
    if -Decimal(value).normalize().as_tuple().exponent > 2:
        return f"{label}最多保留两位小数（填写的是{_n(value)}）"
    return None


def reading_problems(season, unit, opening, closing, previous=None, following=None) -> tuple[Decimal | None, list]:
    """(the opening to store, [(field, message)]). previous: (season, closing) of the latest earlier
    season of this meter; following: (season, opening) of the next later one; None when there is none."""
    problems = []
    if season is None or not SEASONS[0] <= season <= SEASONS[1]:
        problems.append(("season", f"采暖季应写作开始的年份，如2022（表示2022–2023采暖季），在{SEASONS[0]}到"
                                   f"{SEASONS[1]}之间"))
    if unit not in UNITS:
        problems.append(("unit", "计量单位应为 " + "、".join(UNITS.values())))
    if closing is None:
        problems.append(("closing", "季末读数不能为空"))
    if opening is None:
        if previous is None:
            problems.append(("opening", "本表第一次录入读数，须填写季初读数"))
        else:
            opening = previous[1]
    for field, value, label in (("opening", opening, "季初读数"), ("closing", closing, "季末读数")):
        if value is not None and (problem := _number_problem(value, label)):
            problems.append((field, problem))
    if problems:
        return opening, problems
    if closing < opening:
        problems.append(("closing", f"季末读数{_n(closing)}低于季初读数{_n(opening)}"))
    if previous is not None and opening < previous[1]:
        problems.append(("opening", f"季初读数{_n(opening)}低于上一采暖季（{season_label(previous[0])}）的季末读数"
                                    f"{_n(previous[1])}，读数不能比上一次低"))
    if following is not None and closing > following[1]:
        problems.append(("closing", f"季末读数{_n(closing)}高于下一采暖季（{season_label(following[0])}）的季初读数"
                                    f"{_n(following[1])}"))
    return opening, problems


def neighbours(season: int, others: dict) -> tuple:
    """others: {season: (opening, closing)} of the same meter → (previous, following) as
    reading_problems takes them."""
    before = [s for s in others if s < season]
    after = [s for s in others if s > season]
    previous = (max(before), others[max(before)][1]) if before else None
    following = (min(after), others[min(after)][0]) if after else None
    return previous, following
