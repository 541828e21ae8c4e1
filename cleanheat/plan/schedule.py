"""Monthly schedules scheduled backwards from the deadline (倒排工期). Pure functions, no Django."""
import calendar
from datetime import date


def month_ends(start: date, deadline: date) -> list[date]:
    """Checkpoints: the end of every month from start's month up to the deadline; the last
    checkpoint is the deadline itself (15 October, 1 October for Wutai Mountain)."""
    if deadline < start:
        raise ValueError("完成期限早于开工日期")
    points, year, month = [], start.year, start.month
    while True:
        end = date(year, month, calendar.monthrange(year, month)[1])
        if end >= deadline:
            points.append(deadline)
            return points
        points.append(end)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def monthly_amounts(target: int, months: int, capacity: int | None = None) -> list[int]:
    """How many to finish in each month: front-loaded (weights n, n-1, …, 1), never above the
    monthly capacity, summing exactly to the target. Raises ValueError if capacity cannot make it."""
    if target < 0 or months < 1:
        raise ValueError("目标户数和月数须为正")
    if capacity is not None and capacity * months < target:
        raise ValueError(f"按每月{capacity}户的施工能力，{months}个月最多完成{capacity * months}户，"
                         f"不足目标{target}户，请提高月施工能力或调整计划")
    weights = list(range(months, 0, -1))
    total_weight = sum(weights)
    raw = [target * w / total_weight for w in weights]
    amounts = [int(x) for x in raw]
    for i in sorted(range(months), key=lambda i: (amounts[i] - raw[i], i))[: target - sum(amounts)]:
        amounts[i] += 1
    if capacity is not None:  # move what exceeds capacity to the next months with room
        overflow = 0
        for i in range(months):
            amounts[i] += overflow
            overflow = max(0, amounts[i] - capacity)
            amounts[i] -= overflow
        for i in range(months - 1, -1, -1):  # anything left goes back to the latest months with room
            room = capacity - amounts[i]
            moved = min(room, overflow)
            amounts[i] += moved
            overflow -= moved
    return amounts


def schedule(target: int, start: date, deadline: date, capacity: int | None = None) -> list[tuple[date, int]]:
    """[(checkpoint date, cumulative households done by then)]; the last equals the target."""
    points = month_ends(start, deadline)
    amounts = monthly_amounts(target, len(points), capacity)
    cumulative, total = [], 0
    for point, amount in zip(points, amounts):
        total += amount
        cumulative.append((point, total))
    return cumulative


def planned_by(entries: list[tuple[date, int]], start: date, on: date) -> int:
    """Households the schedule expects done by `on`, interpolating within the month."""
    previous_point, previous = start, 0
    for point, cumulative in entries:
        if on >= point:
            previous_point, previous = point, cumulative
            continue
        span = (point - previous_point).days or 1
        elapsed = max(0, (on - previous_point).days)
        return previous + (cumulative - previous) * elapsed // span
    return previous
