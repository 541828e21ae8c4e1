"""Service-level targets of hotline tickets (工单时限): deadlines, status and escalation. Pure, no Django.

Method. A ticket has three deadlines, each counted from the moment it was opened (or reopened):
respond (响应: the repair team acknowledges), on site (到场) and fixed (修复). The minutes for each come
from the SLA table (data: `service/data/sla.json`, editable in the admin) per category and severity,
with a tighter row when the outdoor temperature is below the county's design temperature (the plan's
§三(三) asks repair teams to answer "in time"; how fast is each county's configuration). Time is clock
time: the heating season does not stop at night or at weekends, so no business calendar is applied.

A stage still pending is *at risk* once the elapsed share of its window reaches the at-risk fraction
(default 0.75), and *breached* once its deadline has passed; a stage done after its deadline leaves the
ticket breached for good. The ticket's status is the worst of its stages. A breached ticket escalates
one level (county office, then city) each time the minutes after the first breach named by the
escalation schedule have passed.

Sources: OpenSPP grievance redress (GRM) SLA states "on track / at risk / breached"; the plan's
§三(三) (热线与维修保障专班).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

ON_TRACK, AT_RISK, BREACHED = "on_track", "at_risk", "breached"
RANK = {ON_TRACK: 0, AT_RISK: 1, BREACHED: 2}
STAGES = ("respond", "onsite", "fix")
LEVEL_NONE, LEVEL_COUNTY, LEVEL_CITY = 0, 1, 2


@dataclass(frozen=True)
class Target:
    """Minutes from opening to each stage, and the share of a window after which it is at risk."""
    respond: int
    onsite: int
    fix: int
    at_risk: float = 0.75

    def problems(self) -> dict[str, str]:
        """Why this row cannot be used (negative or zero durations, stages out of order)."""
        found = {}
        for stage, label in (("respond", "响应时限"), ("onsite", "到场时限"), ("fix", "修复时限")):
            if getattr(self, stage) is None or getattr(self, stage) <= 0:
                found[stage] = f"{label}须为正数（分钟），不能为零或负数"
        if not found and not self.respond <= self.onsite <= self.fix:
            found["fix"] = "时限须满足：响应 ≤ 到场 ≤ 修复"
        if not 0 < self.at_risk < 1:
            found["at_risk"] = "预警比例须在0与1之间（如0.75表示时限过去四分之三即预警）"
        return found


def pick(rows: dict[tuple[str, str, bool], Target], category: str, severity: str, cold: bool) -> Target | None:
    """The target for a category and severity; the cold row when it is cold and one exists."""
    if cold and (category, severity, True) in rows:
        return rows[(category, severity, True)]
    return rows.get((category, severity, False))


def deadlines(start: datetime, target: Target) -> dict[str, datetime]:
    return {stage: start + timedelta(minutes=getattr(target, stage)) for stage in STAGES}


def stage_status(now: datetime, start: datetime, due: datetime, done: datetime | None, at_risk: float) -> str:
    if done is not None:
        return BREACHED if done > due else ON_TRACK
    if now >= due:
        return BREACHED
    if now - start >= (due - start) * at_risk:
        return AT_RISK
    return ON_TRACK


def status(now: datetime, start: datetime, due: dict[str, datetime], done: dict[str, datetime | None],
           at_risk: float) -> str:
    """The worst of the stages' statuses at `now`."""
    found = [stage_status(now, start, due[s], done.get(s), at_risk) for s in STAGES]
    return max(found, key=RANK.__getitem__)


def breached_at(now: datetime, due: dict[str, datetime], done: dict[str, datetime | None]) -> datetime | None:
    """The first deadline missed by `now` (None while every stage is on time)."""
    missed = [due[s] for s in STAGES if (done[s] > due[s] if done.get(s) else now >= due[s])]
    return min(missed) if missed else None


def escalation_level(now: datetime, first_breach: datetime | None, schedule: list[tuple[int, int]]) -> int:
    """The level reached: schedule is [(level, minutes after the first breach)], e.g. [(1, 0), (2, 240)]."""
    if first_breach is None:
        return LEVEL_NONE
    return max((level for level, minutes in schedule if now >= first_breach + timedelta(minutes=minutes)),
               default=LEVEL_NONE)
