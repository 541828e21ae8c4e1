"""A household's history (变更记录) as a public module: one keyword-only function per kind of event.

The ledger's services and other apps (procurement's allocations) write history only through these,
never through another module's private helper. Each row carries the household version its write
produced, so "what changed since the version a user saw" is one query. The `*_entries` builders
return unsaved rows for the bulk paths (`ledger.bulk`), which write many households' rows at once.
"""
from cleanheat import bulk

from .models import Household, HouseholdChange

FIRST_VERSION = Household._meta.get_field("version").default


def change_entries(*, household, changes, user, channel, source="") -> list[HouseholdChange]:
    """Unsaved rows for (field, old, new) triples written together by one change to the household."""
    return [HouseholdChange(household=household, user=user, channel=channel, source=source,
                            field=field, old_value=old, new_value=new, version=household.version)
            for field, old, new in changes]


def creation_entry(*, household, user, channel, source="") -> HouseholdChange:
    return HouseholdChange(household=household, user=user, channel=channel, source=source, field="created",
                           new_value=household.household_no, version=household.version)


def state_entry(*, household, from_state, to_state, user, channel, reason="") -> HouseholdChange:
    return change_entries(household=household, changes=[("state", from_state, to_state)], user=user,
                          channel=channel, source=reason)[0]


def entries_written(entries: list[HouseholdChange]) -> None:
    """Store rows built by the `*_entries` builders, many households at once."""
    bulk.insert(HouseholdChange, entries)


def households_created_columns(*, household_ids, household_numbers, user, channel, source, now) -> None:
    """The creation rows of many new households written as columns (the import's fast path)."""
    n = len(household_ids)
    bulk.insert_columns(HouseholdChange, {
        "household_id": household_ids, "changed_at": [now] * n, "user_id": [user.pk if user else None] * n,
        "channel": [str(channel)] * n, "source": [source] * n, "field": ["created"] * n, "old_value": [""] * n,
        "new_value": household_numbers, "version": [FIRST_VERSION] * n})


def fields_changed(*, household, changes, user, channel, source="") -> None:
    """(field, old, new) triples written together by one change to the household."""
    HouseholdChange.objects.bulk_create(change_entries(household=household, changes=changes, user=user,
                                                       channel=channel, source=source))


def household_created(*, household, user, channel, source="") -> None:
    creation_entry(household=household, user=user, channel=channel, source=source).save()


def state_changed(*, household, from_state, to_state, user, channel, reason="") -> None:
    state_entry(household=household, from_state=from_state, to_state=to_state, user=user, channel=channel,
                reason=reason).save()


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
