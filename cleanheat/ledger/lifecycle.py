"""The conversion lifecycle's one rule: which moves between steps are allowed (no Django).

The steps, in order (《实施方案》三(二)、四): 确村确户 → 已选型 → 施工中 → 已完工 → 已验收 →
稳定运行满一个采暖季 → 原设施已拆除. A household moves one step forward at a time, or back any number
of steps with a reason; an import never moves back (a clerk gives the reason on the household's page).
A new household may start at any step up to 已验收, never at the last two: they are only reached after
a heating season of stable running (先立后破、不立不破).

Every door — `ledger.services.transition`, the import and the rules module — asks these functions; the
caller passes `label` (step code → the name a person reads) so that messages stay in the user's language.
"""
from collections.abc import Callable
from dataclasses import dataclass

STEPS = ("confirmed", "selected", "installing", "installed", "accepted", "proven", "removed")
FIRST = STEPS[0]
NOT_AT_START = ("proven", "removed")  # reached only after a season of stable running


@dataclass(frozen=True)
class Refusal:
    """Why a move is not allowed, and which input it is about ("to_state" or "reason")."""
    field: str
    message: str


def index(step: str) -> int:
    return STEPS.index(step)


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
