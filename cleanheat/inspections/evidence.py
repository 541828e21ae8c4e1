"""What the rules ask before a household is 已验收: a passed acceptance record of the household,
made after its last move back below 已验收 (a household moved back is accepted again on new
evidence). Read by `rules.engine.for_transition`, the door every write to the lifecycle passes."""
from cleanheat.ledger import lifecycle
from cleanheat.ledger.choices import LifecycleState

from .models import AcceptanceRecord, LedgerApproval

BEFORE_ACCEPTED = lifecycle.STEPS[: lifecycle.index(LifecycleState.ACCEPTED)]
MISSING = ("须先填写验收记录（检查清单、照片、验收人与户方代表签字）才能标记为“已验收”"
           "（《实施方案》六.1：工程验收）")


def valid_records(household):
    records = AcceptanceRecord.objects.filter(household_id=household.pk, passed=True)
    back = household.lifecycle_events.filter(is_backstep=True, to_state__in=BEFORE_ACCEPTED) \
        .order_by("-id").values_list("recorded_at", flat=True).first()
    return records.filter(created_at__gt=back) if back else records


def acceptance_problem(household, number: str | None = None) -> str | None:
    """None when the household holds valid evidence (the record `number`, if given); else why not."""
    if household is None or household.pk is None:
        return MISSING
    records = valid_records(household)
    if number:
        if not records.filter(number=number).exists():
            return f"验收记录编号“{number}”不是本户有效的验收合格记录"
        return None
    return None if records.exists() else MISSING


def valid_numbers(household_ids) -> dict:
    """Household pk → the number of its latest passed record (for a batch; backsteps are checked by
    `acceptance_problem` per household when a record is used)."""
    found = {}
    ids = sorted(set(household_ids))
    for start in range(0, len(ids), 500):
        for pk, number in AcceptanceRecord.objects.filter(household_id__in=ids[start:start + 500], passed=True) \
                .order_by("created_at").values_list("household_id", "number"):
            found[pk] = number
    return found


def approved_units(year: int | None = None) -> set:
    """(year, 12-digit code) of every unit whose ledger is approved (locked)."""
    rows = LedgerApproval.objects.filter(approved=True)
    if year is not None:
        rows = rows.filter(year=year)
    return set(rows.values_list("year", "region_code"))


def units_of(village_code: str) -> list[str]:
    """The village and the township, county and city above it, as 12-digit codes."""
    return [village_code[:n].ljust(12, "0") for n in (12, 9, 6, 4)]


def lock_problem(village_code: str, year, approved: set | None = None) -> str | None:
    """Why the household data of this village and plan year may not change (None: it may): its ledger,
    or a unit's above it, is approved for the city assessment (《实施方案》五(四))."""
    if not village_code or year is None:
        return None
    approved = approved_units() if approved is None else approved
    for code in units_of(village_code):
        if (int(year), code) in approved:
            return (f"{year}年度台账已确认（区划 {code}），数据已锁定；修改须由确认单位填写原因重新打开"
                    "（《实施方案》五(四)：市级考核）")
    return None
