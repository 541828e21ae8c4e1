"""Writing the plan: loading it from data, editing targets (versioned), generating schedules."""
import json
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from cleanheat.access import require_in_scope, require_perm
from cleanheat.accounts.roles import MANAGE_USERS

from . import schedule as scheduling
from .models import CountyPlan, Plan, PlanChange, ScheduleEntry, Target

DATA = Path(__file__).resolve().parent / "data"
DATE_FIELDS = ["county_plans_due", "works_start", "works_deadline", "self_check_start", "self_check_end",
               "assessment_start", "assessment_end", "heating_season_end", "annual_report_due"]


@transaction.atomic
def load_plan(path: Path = DATA / "xinzhou-2022-plan.json") -> Plan:
    """Create or refresh a plan from its data file; checks the county split adds up to the totals."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    for path_, total in spec["totals"]["households"].items():
        split = sum(c["targets"].get(path_, 0) for c in spec["counties"].values())
        if split != total:
            raise ValueError(f"{path_}：各县目标合计{split}户，与全市目标{total}户不符")
    plan, _ = Plan.objects.update_or_create(
        city_code=spec["city_code"], year=spec["year"],
        defaults={"name": spec["name"], "document_no": spec.get("document_no", ""),
                  "dispatch_every_days": spec.get("dispatch_every_days", 7),
                  "map_script": spec.get("map_script", ""), "map_name": spec.get("map_name", ""),
                  **{f: date.fromisoformat(spec[f]) for f in DATE_FIELDS}})
    for county, c in spec["counties"].items():
        cp, _ = CountyPlan.objects.update_or_create(plan=plan, county_code=county, defaults={
            "works_deadline": date.fromisoformat(c["works_deadline"]) if c.get("works_deadline") else None,
            "building_town_m2": c.get("building_town_m2", 0), "building_rural_m2": c.get("building_rural_m2", 0)})
        for path_, n in c["targets"].items():
            Target.objects.update_or_create(county_plan=cp, heating_path=path_, defaults={"households": n})
        if not cp.schedule.exists():
            generate_schedule(cp)
    return plan


def generate_schedule(county_plan: CountyPlan) -> None:
    """Front-loaded monthly schedule backwards from the county's deadline. Acceptance follows
    installation by one checkpoint and is complete by the end of the city assessment."""
    plan = county_plan.plan
    county_plan.schedule.all().delete()
    entries = []
    for target in county_plan.targets.all():
        installed = scheduling.schedule(target.households, plan.works_start, county_plan.deadline,
                                        county_plan.monthly_capacity)
        previous = 0
        for point, cumulative in installed:
            entries.append(ScheduleEntry(county_plan=county_plan, heating_path=target.heating_path,
                                         checkpoint=point, installed=cumulative, accepted=previous))
            previous = cumulative
        entries.append(ScheduleEntry(county_plan=county_plan, heating_path=target.heating_path,
                                     checkpoint=plan.assessment_end, installed=target.households,
                                     accepted=target.households))
    ScheduleEntry.objects.bulk_create(entries)


@transaction.atomic
def set_target(county_plan: CountyPlan, heating_path: str, households: int, *, user, reason: str) -> None:
    """City office edits a county's target; the change is kept with who, when and why."""
    require_perm(user, MANAGE_USERS)
    require_in_scope(user, county_plan.plan.city_code)
    if households < 0:
        raise ValidationError({"households": ["目标户数不能为负"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["修改计划目标须填写原因"]})
    target, _ = Target.objects.get_or_create(county_plan=county_plan, heating_path=heating_path,
                                             defaults={"households": 0})
    if target.households == households:
        return
    PlanChange.objects.create(plan=county_plan.plan, user=user, reason=reason.strip(),
                              what=f"{county_plan.county_code} {target.get_heating_path_display()} 目标户数",
                              old_value=str(target.households), new_value=str(households))
    target.households = households
    target.save(update_fields=["households"])
    generate_schedule(county_plan)
