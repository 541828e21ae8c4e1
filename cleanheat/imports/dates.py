"""The days a sheet gives for the lifecycle steps (确户日期 … 拆除日期, 状态日期), turned into the
moves a row records through the lifecycle's one rule (`lifecycle.plan_steps`).

The column screen and the per-row checks both ask `plan_row`, so they plan, refuse and note alike.
"""
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils import translation

from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import LifecycleState

DATE_FIELDS = {step: f"{step}_on" for step in lifecycle.STEPS}   # step → the sheet's column of its day
STEP_OF = {name: step for step, name in DATE_FIELDS.items()}
SHEET_DATES = (*DATE_FIELDS.values(), "state_date")             # every column giving a day


def state_label(step) -> str:
    return step_labels()[step]


def step_labels() -> dict:
    """Step → the name a person reads, in the current language (made once per language)."""
    return _labels(translation.get_language())


@lru_cache(maxsize=8)
def _labels(language) -> dict:
    return {step: str(LifecycleState(step).label) for step in lifecycle.STEPS}


@dataclass
class RowPlan:
    """A row's moves: `steps` ((step, day or None: the day of writing), …) up to `target`."""
    target: str | None = None
    steps: tuple = ()
    errors: list = field(default_factory=list)   # (field, message)
    notes: list = field(default_factory=list)    # what the dry run tells the clerk (not refusals)
    undated: bool = False                        # several steps in a sheet without step date columns


ACCEPTED = lifecycle.index(LifecycleState.ACCEPTED)


def plan_row(current, state, days: dict, state_day, *, today, since=None, step_columns=True, names=None,
             accepted_ok: bool = False) -> RowPlan:
    """current: the household's step (None: a new one); state: the state column's step (None: not
    given); days: step → the day given; state_day: the row's 状态日期; since: the day of the
    household's last move; step_columns: the sheet has a date column for some step; names: the
    steps' names (`step_labels()`, for a caller planning many rows); accepted_ok: the household holds
    a passed acceptance record (a new one never does).

    已验收 needs an acceptance record (《实施方案》六.1, checked by the rules on every door): a row
    reaching it for a household without one stops at 已完工, with a note (not a refusal).

    A sheet without step date columns can only date the steps before the target by 状态日期 or the
    day of the import: that is said once for the file (`undated`), not on every row."""
    names = names or step_labels()
    plan = lifecycle.plan_steps(current, state, days, label=names.__getitem__, today=today, target_date=state_day,
                                since=since)
    if isinstance(plan, lifecycle.Refusal):
        return RowPlan(errors=[(_field_of(plan.field, state, days), plan.message)])
    capped, day_of = [], dict(plan.steps)
    if not accepted_ok and any(lifecycle.index(step) >= ACCEPTED for step, _ in plan.steps):
        plan = lifecycle.Plan(tuple((s, d) for s, d in plan.steps if lifecycle.index(s) < ACCEPTED),
                              tuple((s, src) for s, src in plan.borrowed if lifecycle.index(s) < ACCEPTED))
        capped = [acceptance_note(names)]
    several = len(plan.steps) > 1
    if not step_columns:
        if capped:
            return RowPlan(target=plan.target or current, steps=plan.steps, undated=several, notes=capped)
        return RowPlan(target=plan.target, steps=plan.steps, undated=several)
    own = bool(state_day) or any(days.values())
    notes = _notes(plan, days, names, day_of) if plan.borrowed and (own or several) else []
    return RowPlan(target=plan.target or current, steps=plan.steps, notes=notes + capped)


def acceptance_note(names) -> str:
    return (f"没有该户的验收记录，“{names[LifecycleState.ACCEPTED]}”及以后各步未登记，该户保留为“{names[LifecycleState.INSTALLED]}”"
            "（已验收须有验收记录：验收后在“验收记录编号”列填写记录编号再导入，或在户页面填写验收记录）")


def _field_of(refused, state, days) -> str:
    """The sheet field a refusal is about: a step's date column, 状态日期, or the state column
    (or, when the step came from the dates alone, the furthest date's column)."""
    if refused in DATE_FIELDS:
        return DATE_FIELDS[refused]
    if refused == "to_state" and state is None:
        given = [s for s in lifecycle.STEPS if days.get(s)]
        return DATE_FIELDS[given[-1]] if given else "state"
    return "state" if refused == "to_state" else refused


def _notes(plan: lifecycle.Plan, days: dict, names: dict, day_of: dict) -> list[str]:
    """One line: which steps took which later day (or the day of the import). day_of: each planned
    step's day (also of the steps left out for want of an acceptance record)."""
    groups: dict = {}
    for step, source in plan.borrowed:
        groups.setdefault(source, []).append(step)
    parts = []
    for source, steps in groups.items():
        which = "、".join(f"“{names[s]}”" for s in steps)
        if source is None:
            parts.append(f"{which}未填写日期，按导入当天记")
        else:
            given = f"“{names[source]}”的日期" if days.get(source) else "状态日期"
            parts.append(f"{which}未填写日期，按{given}{day_of[source]}记")
    return ["；".join(parts)]


def undated_notice(count: int) -> str:
    return (f"表中没有各步日期列：{count}户到达改造状态之前的各步按状态日期记（未填状态日期的按导入当天记）；"
            "如有确户日期、完工日期等，请加列填写")
