"""Builders shared by the single-record services and the bulk paths: a household's values from
cleaned input (personal identifiers encrypted, hashed and masked), its numbers, its lifecycle events.
Nothing here validates; the callers have checked first."""
from collections import defaultdict

from cleanheat import pii

from . import identity, years
from .models import Household, HouseholdNumberSequence, LifecycleEvent

# Personal identifiers: stored encrypted + keyed hash + mask; history keeps only the mask.
PII_FIELDS = {
    "id_number": ("id", identity.mask_id_number),
    "phone": ("phone", identity.mask_mobile),
    "bank_account": ("bank", identity.mask_bank_account),
    "electricity_account": ("elec", identity.mask_utility_account),
    "gas_account": ("gas", identity.mask_utility_account),
}
# The utility accounts, in the order an import matches a row by them (before the ID number).
ACCOUNT_FIELDS = ("electricity_account", "gas_account")
REASON_LENGTH = LifecycleEvent._meta.get_field("reason").max_length


def stored_fields(name: str) -> list[str]:
    """The columns a cleaned field is stored in."""
    return [f"{name}_cipher", f"{name}_hash", f"{name}_masked"] if name in PII_FIELDS else [name]


def secret_columns(name: str, plain: list[str], hashes: list[str] | None = None) -> dict:
    """The stored columns of one identifier for many values (hashes: already computed, if so)."""
    kind, mask = PII_FIELDS[name]
    if not any(plain):  # a column the sheet lacks (most sheets give no utility accounts): nothing to seal
        n = len(plain)
        return {f"{name}_cipher": [""] * n, f"{name}_hash": hashes if hashes is not None else [""] * n,
                f"{name}_masked": [""] * n}
    return {f"{name}_cipher": pii.encrypt_many(plain),
            f"{name}_hash": hashes if hashes is not None else pii.blind_index_many(plain, kind),
            f"{name}_masked": [mask(v) if v else "" for v in plain]}


def set_values(household: Household, cleaned: dict) -> list[tuple[str, str, str]]:
    """Set cleaned values on the model; return (field, old, new) for what really changed."""
    changes = []
    for name, value in cleaned.items():
        if name in PII_FIELDS:
            kind, mask = PII_FIELDS[name]
            new_hash = pii.blind_index(value, kind)
            if new_hash != getattr(household, f"{name}_hash"):
                old = getattr(household, f"{name}_masked")
                setattr(household, f"{name}_cipher", pii.encrypt(value))
                setattr(household, f"{name}_hash", new_hash)
                setattr(household, f"{name}_masked", mask(value) if value else "")
                changes.append((name, old, getattr(household, f"{name}_masked")))
        elif name == "village":
            if household.village_id != value.code:
                changes.append((name, household.village_id or "", value.code))
                household.village = value
        elif name == "heat_source":
            new_id = value.pk if value is not None else None
            if household.heat_source_id != new_id:
                changes.append((name, str(household.heat_source_id or ""), str(new_id or "")))
                household.heat_source = value
        else:
            old = getattr(household, name)
            if old != value:
                setattr(household, name, value)
                changes.append((name, "" if old is None else str(old), "" if value is None else str(value)))
    return changes


def new_household(cleaned: dict, *, state: str, now) -> Household:
    # the year given (the import's lookups answer the default once per file), else the latest plan's
    household = Household(state=state, state_changed_at=now,
                          plan_year=cleaned.get("plan_year") or years.default_plan_year())
    set_values(household, cleaned)
    return household


def next_household_numbers(county_code: str, n: int = 1) -> list[str]:
    """n new numbers for a county: county code + 7-digit serial, never reused. The counter's row
    lock serialises concurrent creators until their transaction ends."""
    seq, _ = HouseholdNumberSequence.objects.select_for_update().get_or_create(county_code=county_code)
    first = seq.last + 1
    seq.last += n
    seq.save(update_fields=["last"])
    return [f"{county_code}{serial:07d}" for serial in range(first, seq.last + 1)]


def household_numbers(villages: list[str]) -> list[str]:
    """Numbers for new households in the villages given, in that order (one counter update per county)."""
    by_county = defaultdict(list)
    for i, village in enumerate(villages):
        by_county[village[:6]].append(i)
    numbers = [""] * len(villages)
    for county, positions in by_county.items():
        for i, number in zip(positions, next_household_numbers(county, len(positions))):
            numbers[i] = number
    return numbers


def lifecycle_event(household: Household, to_state: str, *, occurred_on, user, channel, reason="",
                    from_state=None, backstep=False) -> LifecycleEvent:
    """An unsaved lifecycle event; from_state None: the household's current state ("" when new)."""
    return LifecycleEvent(household=household, from_state=household.state if from_state is None else from_state,
                          to_state=to_state, occurred_on=occurred_on, user=user, channel=channel,
                          reason=reason[:REASON_LENGTH], is_backstep=backstep)


def lifecycle_event_columns(household_ids, steps, *, user, channel, reason, now, today) -> dict:
    """The lifecycle events of new households as columns (for a bulk insert): for each household,
    one event per step of `steps[i]` ((step, day or None: today), … from the first step), in order."""
    counts = list(map(len, steps))
    flat = [move for own in steps for move in own]
    before = [prior for own in steps for prior in ("", *(step for step, _ in own[:-1]))]
    m = len(flat)
    return {"household_id": [pk for pk, k in zip(household_ids, counts) for _ in range(k)], "from_state": before,
            "to_state": [step for step, _ in flat], "occurred_on": [day or today for _, day in flat],
            "recorded_at": [now] * m, "user_id": [user.pk if user else None] * m, "channel": [str(channel)] * m,
            "reason": [reason[:REASON_LENGTH]] * m, "is_backstep": [False] * m}
