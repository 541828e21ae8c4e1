"""When a unit finished its plan and how late: pure functions, no Django.

Method: a unit has finished on the first day on which the households of its plan year that were
installed (已完工) or further on that day add up to its target (`installed_by_day` holds each day's
change of that number: a step back counts −1 on its day); it is late by the days between its deadline and that day (0: on time). A
plan is over for a unit once the date looked at is past the unit's deadline."""
from datetime import date


def finished_on(installed_by_day: dict, target: int | None, until: date) -> date | None:
    """The first day up to `until` on which the cumulative installations reach `target`, or None."""
    if not target:
        return None
    total = 0
    for day in sorted(installed_by_day):
        if day > until:
            break
        total += installed_by_day[day]
        if total >= target:
            return day
    return None


def outcome(deadline: date | None, target: int | None, installed_by_day: dict, on: date) -> dict | None:
    """None while the unit's plan is running on `on`; once over, {"finished_on", "late_days"} (None
    and None when the target was never reached)."""
    if deadline is None or on <= deadline:
        return None
    day = finished_on(installed_by_day, target, on)
    return {"finished_on": day, "late_days": max(0, (day - deadline).days) if day else None}


def on_time(installed_by_day: dict, deadline: date) -> int:
    """Installations made on or before the deadline."""
    return sum(n for day, n in installed_by_day.items() if day <= deadline)
