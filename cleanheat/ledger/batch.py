"""Batch actions on households selected in the list: a state change or archiving, household by
household through the same service functions (and so the same rules and history) as one at a time.

Each household is its own transaction: one refused does not undo the others, and the outcome of
every household (done, or refused and why) is reported back."""
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from . import services
from .choices import Channel, LifecycleState
from .queries import scoped_households

MAX_SELECTED = 200  # households in one batch (the list shows 50 a page)
NOT_FOUND = "未找到该户，或不在您的管辖范围内"
ACTIONS = {"transition", "archive"}


@dataclass
class Outcome:
    household_no: str
    name: str
    done: bool
    message: str


def selected(user, numbers) -> tuple[list, list[str]]:
    """The user's households among `numbers` (in the order given, each once) and the numbers not
    found in the user's area."""
    wanted = list(dict.fromkeys(n.strip() for n in numbers if n and n.strip()))[:MAX_SELECTED]
    found = {h.household_no: h for h in scoped_households(user).filter(household_no__in=wanted)}
    return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]


def _message(error: ValidationError) -> str:
    return "；".join(m for messages in error.message_dict.values() for m in messages)


def _each(households, missing, act, done_message) -> list[Outcome]:
    outcomes = [Outcome(n, "", False, NOT_FOUND) for n in missing]
    for household in households:
        try:
            act(household)
            outcomes.append(Outcome(household.household_no, household.householder_name, True, done_message))
        except ValidationError as error:
            outcomes.append(Outcome(household.household_no, household.householder_name, False, _message(error)))
    return outcomes


def transition(user, numbers, to_state: str, *, reason: str = "", occurred_on=None) -> list[Outcome]:
    """Move each selected household to `to_state` (services.transition: one step forward, or back
    with a reason)."""
    households, missing = selected(user, numbers)
    label = LifecycleState(to_state).label if to_state in LifecycleState.values else to_state
    return _each(households, missing, lambda h: services.transition(
        h, to_state, user=user, channel=Channel.UI, reason=reason, occurred_on=occurred_on),
        f"已变更为“{label}”")


def archive(user, numbers, *, reason: str) -> list[Outcome]:
    households, missing = selected(user, numbers)
    return _each(households, missing, lambda h: services.archive_household(
        h, reason=reason, user=user, channel=Channel.UI), "已归档")
