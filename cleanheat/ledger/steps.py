"""A household's lifecycle state over time, from its events — pure, no Django.

Method (the same rule as the ledger's reference query `rollup.counts_on_from_ledger`): the state a
household had on day D is the `to_state` of its latest recorded event (highest id) among those that
occurred on or before D. That is a step function of D that can only change on an event's day; this
module lists its steps, each as (day, state entered, state left or None)."""
from itertools import groupby


def state_steps(events) -> list[tuple]:
    """events: (id, to_state, occurred_on) of one household, in any order → [(day, entered, left)],
    by day, only where the state changes."""
    steps, top, current = [], None, None
    ordered = sorted(events, key=lambda e: (e[2], e[0]))
    for day, same_day in groupby(ordered, key=lambda e: e[2]):
        for event in same_day:
            if top is None or event[0] > top[0]:
                top = event
        if top[1] != current:
            steps.append((day, top[1], current))
            current = top[1]
    return steps
