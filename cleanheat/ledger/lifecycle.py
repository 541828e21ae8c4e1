"""The conversion lifecycle's one rule: which moves between steps are allowed (no Django).

The steps, in order (《实施方案》三(二)、四): 确村确户 → 已选型 → 施工中 → 已完工 → 已验收 →
稳定运行满一个采暖季 → 原设施已拆除. A household moves one step forward at a time, or back any number
of steps with a reason; an import never moves back (a clerk gives the reason on the household's page).
A new household may start at any step up to 已验收, never at the last two: they are only reached after
a heating season of stable running (先立后破、不立不破).

Every door — `ledger.services.transition`, the import and the rules module — asks these functions; the
caller passes `label` (step code → the name a person reads) so that messages stay in the user's language.
An import row naming a later step (or giving the days of several steps) is planned by `plan_steps`:
the steps in between, one at a time through `check_move`, each with its day.
"""
from collections.abc import Callable
from dataclasses import dataclass

STEPS = ("confirmed", "selected", "installing", "installed", "accepted", "proven", "removed")
FIRST = STEPS[0]
NOT_AT_START = ("proven", "removed")  # reached only after a season of stable running
_INDEX = {step: i for i, step in enumerate(STEPS)}


@dataclass(frozen=True)
class Refusal:
    """Why a move is not allowed, and which input it is about ("to_state" or "reason")."""
    field: str
    message: str


def index(step: str) -> int:
    return _INDEX[step]


def is_step(value) -> bool:
    return value in STEPS


def check_move(current: str, target: str, *, label: Callable[[str], str], reason: str = "",
               backward: bool = True) -> Refusal | None:
    """None when `current` → `target` is allowed. backward=False: the door cannot move back (imports)."""
    here, there = index(current), index(target)
    if there == here:
        return Refusal("to_state", f"该户已处于“{label(target)}”状态")
    if there > here + 1:
        return Refusal("to_state", f"不能跳过状态：当前为“{label(current)}”，下一步只能是“{label(STEPS[here + 1])}”")
    if there < here and not backward:
        return Refusal("to_state", "导入不能回退改造状态，请在户详情页填写原因后回退")
    if there < here and not reason:
        return Refusal("reason", "回退改造状态必须填写原因")
    return None


def check_start(step: str, *, label: Callable[[str], str]) -> Refusal | None:
    """None when a new household may be registered at `step`."""
    if step in NOT_AT_START:
        return Refusal("to_state", f"新建档的户不能直接导入为“{label(step)}”：须先登记完工日期，"
                                   f"经过一个采暖季稳定运行后再变更（《实施方案》四：先立后破、不立不破）")
    return None


def may_start_at(step: str) -> bool:
    return step not in NOT_AT_START


@dataclass(frozen=True)
class Plan:
    """The moves a row of a sheet asks for, in order: (step, day; None: the day it is written).
    `borrowed`: the steps without a date of their own, each with the step whose date it took
    (None: no later date was known, so the day it is written)."""
    steps: tuple = ()
    borrowed: tuple = ()

    @property
    def target(self) -> str | None:
        return self.steps[-1][0] if self.steps else None


def plan_steps(current: str | None, target: str | None, dates: dict, *, label: Callable[[str], str], today,
               target_date=None, since=None) -> Plan | Refusal:
    """The steps from `current` (None: a new household, which starts at FIRST) up to `target`,
    each through `check_move` (or `check_start`), with their days.

    `dates`: step → the day the sheet gives for it. `target` None: the furthest step given a date
    (no move if that is not beyond `current`). `target_date`: the day the target was reached, used
    when the target's own date is not given (a sheet's 状态日期; the step's own date is the more
    precise one). A step without a date takes the next
    known date of a later step. Refused (the Refusal's field names the step whose date is at fault,
    or "state_date", or "to_state"): a date after `today`, dates out of step order, a date given for
    a step beyond an explicit target, and a move dated before `since` (the household's last move)."""
    given = [(s, dates[s]) for s in STEPS if dates.get(s) is not None]
    for field, day in given + ([("state_date", target_date)] if target_date is not None else []):
        if day > today:
            what = "状态日期" if field == "state_date" else f"“{label(field)}”的日期"
            return Refusal(field, f"{what}{day}晚于今天，日期不能晚于今天")
    here = index(current) if current is not None else -1
    furthest = given[-1][0] if given else None
    if target is None:
        target = furthest if furthest is not None and index(furthest) > here else (current or FIRST)
    elif furthest is not None and index(furthest) > index(target):
        return Refusal(furthest, f"已填写“{label(furthest)}”的日期，但改造状态为“{label(target)}”")
    path = _path(current, target, label)
    if isinstance(path, Refusal):
        return path
    days, fields = dict(given), {s: s for s, _ in given}
    if target_date is not None and path and target not in days:
        days[target], fields[target] = target_date, "state_date"
    ordered = [(s, days[s]) for s in STEPS if s in days]
    for (before, earlier), (step, day) in zip(ordered, ordered[1:]):
        if day < earlier:
            return Refusal(fields[step], f"“{label(step)}”的日期{day}早于“{label(before)}”的日期{earlier}，"
                                         "各步日期应按改造顺序先后排列")
    return _dated(path, days, fields, since=since, label=label)


def _path(current, target, label) -> tuple | Refusal:
    """The steps from current to target, each allowed by the one rule (empty: no move)."""
    if current is None:
        return check_start(target, label=label) or STEPS[: index(target) + 1]
    if target == current:
        return ()
    if index(target) < index(current):
        return check_move(current, target, label=label, backward=False)
    path = STEPS[index(current) + 1: index(target) + 1]
    for before, step in zip((current, *path), path):
        if refusal := check_move(before, step, label=label, backward=False):
            return refusal
    return path


def _dated(path, days: dict, fields: dict, *, since, label) -> Plan | Refusal:
    """Each step of `path` with its own day, or the next known day of a later step."""
    steps, borrowed, known, source = [], [], None, None
    for step in reversed(path):
        if step in days:
            known, source = days[step], step
        else:
            borrowed.append((step, source))
        steps.append((step, known))
    steps.reverse()
    borrowed.reverse()
    first = steps[0][1] if steps else None
    if since is not None and first is not None and first < since:
        at = next(s for s in path if s in days)
        return Refusal(fields[at], f"“{label(steps[0][0])}”的日期{first}早于该户上一次改造状态变更（{since}）")
    return Plan(tuple(steps), tuple(borrowed))
