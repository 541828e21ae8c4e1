"""A household's history (变更记录) as a public module: one keyword-only function per kind of event.

The ledger's services and other apps (procurement's allocations) write history only through these,
never through another module's private helper. Each row carries the household version its write
produced, so "what changed since the version a user saw" is one query.
"""
from .models import HouseholdChange


def fields_changed(*, household, changes, user, channel, source="") -> None:
    """(field, old, new) triples written together by one change to the household."""
    HouseholdChange.objects.bulk_create([
        HouseholdChange(household=household, user=user, channel=channel, source=source,
                        field=field, old_value=old, new_value=new, version=household.version)
        for field, old, new in changes
    ])


def household_created(*, household, user, channel, source="") -> None:
    fields_changed(household=household, changes=[("created", "", household.household_no)],
                   user=user, channel=channel, source=source)


def state_changed(*, household, from_state, to_state, user, channel, reason="") -> None:
    fields_changed(household=household, changes=[("state", from_state, to_state)],
                   user=user, channel=channel, source=reason)


def archived(*, household, user, channel, reason) -> None:
    fields_changed(household=household, changes=[("archived", "否", "是")], user=user, channel=channel,
                   source=reason)


def restored(*, household, user, channel, reason="") -> None:
    fields_changed(household=household, changes=[("archived", "是", "否")], user=user, channel=channel,
                   source=reason)


def outage_recorded(*, household, summary, user, channel) -> None:
    fields_changed(household=household, changes=[("outage", "", summary)], user=user, channel=channel)


def equipment_allocated(*, household, equipment, user, channel) -> None:
    """`equipment`: what was allocated as a person reads it (vendor, model, contract)."""
    fields_changed(household=household, changes=[("equipment", "", equipment)], user=user, channel=channel)


def equipment_released(*, household, equipment, user, channel, reason) -> None:
    fields_changed(household=household, changes=[("equipment", equipment, "")], user=user, channel=channel,
                   source=reason)
