"""Many households written at once (an import): the bulk paths beside the single-record services.

They reuse the single path's builders (`records`: values, personal identifiers, numbers, lifecycle
events; `history`: change rows) and check nothing themselves: the caller has validated every row
through `services.clean_household_data` / `cleaning` and `lifecycle` first. Call inside a transaction.
"""
import heapq
from dataclasses import dataclass, field

from django.utils import timezone

from cleanheat import bulk as db

from . import asof, history
from .models import Household, LifecycleEvent
from .records import (PII_FIELDS, household_numbers, lifecycle_event, lifecycle_event_columns, secret_columns,
                      stored_fields)

CHUNK = 20000  # households encrypted per chunk while the database stores the previous one
AS_OF_COLUMNS = ("village_id", "plan_year", "heating_path")  # where a household counts (ledger.asof)


@dataclass
class NewColumns:
    """New households given column by column (`values`: Household attname → list, without the
    household number, which is given here; `secrets`: id_number / phone / bank_account → plain text,
    encrypted while writing; `id_number_hash` already in values). `order`: each one's place among all
    new households of the batch (e.g. its row in the file), for numbering."""
    values: dict
    secrets: dict
    steps: list                      # each one's lifecycle steps from the first: ((step, day or None: today), …)
    order: list

    def __len__(self):
        return len(self.order)


@dataclass
class NewObjects:
    """New households built by `records.new_household`, with their lifecycle steps (as in
    `NewColumns`) and places."""
    households: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    order: list = field(default_factory=list)


@dataclass
class Update:
    """An existing household on which `records.set_values` has set the new values (`changes`),
    as read at `version`, and the steps it moves through, if any: ((step, day or None: today), …),
    each the next after the one before (`lifecycle.plan_steps`)."""
    household: Household
    changes: list
    steps: tuple = ()


@dataclass(frozen=True)
class Writer:
    """Who writes and how the history names it."""
    user: object
    channel: str
    source: str = ""


class ChangedMeanwhile(Exception):
    """Households written by someone else since the batch read them: nothing was written."""

    def __init__(self, numbers):
        super().__init__(numbers)
        self.numbers = sorted(numbers)


def import_households(columns: NewColumns, objects: NewObjects, *, writer: Writer, reason: str,
                      progress=None, total=None) -> None:
    """Store new households with their numbers (in `order`, per county), a lifecycle event for each
    step they are registered through, on its day (`reason`), and their creation history."""
    ids = db.reserve_ids(Household, len(columns))  # taken meanwhile, where the database allows
    _number(columns, objects)
    now, today = timezone.now(), timezone.localdate()
    if len(columns):
        with db.large_write():
            _insert_columns(columns, ids(), writer=writer, reason=reason, now=now, today=today,
                            progress=progress, total=total or len(columns))
    for household in objects.households:
        household.state_changed_at = now
    db.insert(Household, objects.households)
    db.insert(LifecycleEvent, [
        lifecycle_event(h, step, from_state=before, occurred_on=day or today, user=writer.user,
                        channel=writer.channel, reason=reason)
        for h, steps in zip(objects.households, objects.steps) for before, (step, day) in _moves(steps)])
    history.entries_written([history.creation_entry(household=h, user=writer.user, channel=writer.channel,
                                                    source=writer.source) for h in objects.households])
    asof.added([*(ids() if len(columns) and not _counted(columns) else []), *(h.pk for h in objects.households)])


def _number(columns: NewColumns, objects: NewObjects) -> None:
    """Numbers for all new households, in their common order: each list is in order already."""
    both = heapq.merge(((place, i, None) for i, place in enumerate(columns.order)),
                       ((place, None, h) for place, h in zip(objects.order, objects.households)),
                       key=lambda t: t[0])
    targets = [(i, h) for _, i, h in both]
    villages = columns.values.get("village_id", [])
    numbers = household_numbers([h.village_id if h is not None else villages[i] for i, h in targets])
    column_numbers = [None] * len(columns)
    for (i, household), number in zip(targets, numbers):
        if household is not None:
            household.household_no = number
        else:
            column_numbers[i] = number
    if len(columns):
        columns.values["household_no"] = column_numbers


def _insert_columns(columns: NewColumns, ids, *, writer, reason, now, today, progress, total):
    n = len(columns)
    values = dict(columns.values, id=ids, state_changed_at=[now] * n, created_at=[now] * n, updated_at=[now] * n,
                  archived=[False] * n, archived_at=[None] * n, archive_reason=[""] * n)

    def chunks():  # made while the database stores the previous ones: one COPY for all of them
        for start in range(0, n, CHUNK):
            chunk = {a: column[start:start + CHUNK] for a, column in values.items()}
            for name in PII_FIELDS:
                hashes = chunk["id_number_hash"] if name == "id_number" else None  # computed to find duplicates
                chunk.update(secret_columns(name, columns.secrets[name][start:start + CHUNK], hashes))
            yield chunk
            if progress:
                progress("write", min(start + CHUNK, n), total)

    db.insert_chunks(Household, chunks())
    events = lifecycle_event_columns(ids, columns.steps, user=writer.user, channel=writer.channel, reason=reason,
                                     now=now, today=today)
    db.insert_columns(LifecycleEvent, events)
    if _counted(columns):  # the as-of counts from what was just written (else read back by the caller)
        asof.added_written(dict(zip(ids, zip(*(values[name] for name in AS_OF_COLUMNS)))),
                           zip(events["household_id"], events["to_state"], events["occurred_on"]))
    history.households_created_columns(household_ids=ids, household_numbers=values["household_no"],
                                       user=writer.user, channel=writer.channel, source=writer.source, now=now)


def _counted(columns: NewColumns) -> bool:
    return all(name in columns.values for name in AS_OF_COLUMNS)


def _moves(steps):
    """(the step before, (step, day)) for steps from the first, as a new household goes through them."""
    return zip(("", *(step for step, _ in steps)), steps)


def apply_updates(updates: list[Update], *, writer: Writer, reason: str) -> None:
    """Store households changed by a batch, each with its history rows and, where it moves on, a
    lifecycle event per step on its day (`reason`). Refuses (ChangedMeanwhile) if any was written
    since it was read."""
    if not updates:
        return
    _lock_unchanged(updates)
    now, today = timezone.now(), timezone.localdate()
    fields, events, entries = {"version", "updated_at"}, [], []
    for update in updates:
        household = update.household
        household.version += 1
        for name, _, _ in update.changes:
            fields.update(stored_fields(name))
        changes = list(update.changes)
        for step, day in update.steps:
            events.append(lifecycle_event(household, step, occurred_on=day or today, user=writer.user,
                                          channel=writer.channel, reason=reason))
            changes.append(("state", household.state, step))
            household.state, household.state_changed_at = step, now
            fields.update(["state", "state_changed_at"])
        entries += history.change_entries(household=household, changes=changes, user=writer.user,
                                          channel=writer.channel, source=writer.source)
        household.updated_at = now
    with asof.kept(u.household.pk for u in updates):
        Household.objects.bulk_update([u.household for u in updates], sorted(fields), batch_size=500)
        db.insert(LifecycleEvent, events)
    history.entries_written(entries)


def _lock_unchanged(updates: list[Update]) -> None:
    """The rows were read when the batch was checked; a household written since then (by a clerk's
    form, say) would have that change reverted by the stale copy. Locks the rows until commit."""
    seen = {u.household.pk: u.household.version for u in updates}
    ordered = sorted(seen)
    moved = []
    for start in range(0, len(ordered), 500):
        moved += [no for pk, no, version in Household.objects.select_for_update()
                  .filter(pk__in=ordered[start:start + 500]).values_list("pk", "household_no", "version")
                  if version != seen[pk]]
    if moved:
        raise ChangedMeanwhile(moved)
