"""Writing the plan: loading it from data, editing targets (versioned), generating schedules."""
import json
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cleanheat import inputs
from cleanheat.access import require_in_scope, require_perm, user_prefix
from cleanheat.accounts.roles import EDIT, MANAGE_USERS
from cleanheat.ledger.choices import HeatingPath
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.versions import StaleEdit, digest

from . import breakdown
from . import schedule as scheduling
from . import targets as township_targets
from .models import CountyPlan, Plan, PlanChange, ScheduleEntry, Target, TownshipTarget

DATA = Path(__file__).resolve().parent / "data"
# Households of one path in one county (or built in a month): far above any county's, within the
# database's integer; a typo beyond it is refused rather than scheduled.
MAX_HOUSEHOLDS = 1_000_000
REASON_LENGTH = PlanChange._meta.get_field("reason").max_length
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
        defaults={"name": spec["name"], "document_no": spec.get("document_no", ""), "note": spec.get("note", ""),
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


def _households(value, label: str, low: int) -> int:
    """A count of households as typed ("120", 120), within 0 (or 1) … MAX_HOUSEHOLDS."""
    count = inputs.integer(value, label)
    if not low <= count <= MAX_HOUSEHOLDS:
        raise ValueError(f"{label}应在{low}到{MAX_HOUSEHOLDS}户之间")
    return count


@transaction.atomic
def set_target(county_plan: CountyPlan, heating_path: str, households, *, user, reason: str) -> None:
    """City office edits a county's target; the change is kept with who, when and why."""
    require_perm(user, MANAGE_USERS)
    require_in_scope(user, county_plan.plan.city_code)
    try:
        households = _households(households, "目标户数", 0)
    except ValueError as exc:
        raise ValidationError({"households": [str(exc)]}) from None
    try:
        reason = inputs.text(reason, "原因", max_length=PlanChange._meta.get_field("reason").max_length)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None
    if heating_path not in HeatingPath.values:
        raise ValidationError({"path": [f"“{inputs.shown(heating_path)}”不是有效的取暖路径"]})
    if not reason:
        raise ValidationError({"reason": ["修改计划目标须填写原因"]})
    # locked, so that two editors' changes are both kept with the old value each really replaced
    target, _ = Target.objects.select_for_update().get_or_create(county_plan=county_plan, heating_path=heating_path,
                                                                 defaults={"households": 0})
    if target.households == households:
        return
    PlanChange.objects.create(plan=county_plan.plan, user=user, reason=reason,
                              what=f"{county_plan.county_code} {target.get_heating_path_display()} 目标户数",
                              old_value=str(target.households), new_value=str(households))
    target.households = households
    target.save(update_fields=["households"])
    try:
        generate_schedule(county_plan)
    except ValueError as exc:  # the county's monthly capacity cannot build the new target in time
        raise ValidationError({"households": [str(exc)]}) from None


def _can_edit_county(user, county_plan):
    require_perm(user, EDIT)
    require_in_scope(user, county_plan.county_code.ljust(12, "0"))


def schedule_version(county_plan: CountyPlan) -> str:
    """The version of a county's monthly schedule as its page shows it (a digest)."""
    entries = county_plan.schedule.order_by("heating_path", "checkpoint") \
        .values_list("heating_path", "checkpoint", "installed", "accepted")
    return digest([county_plan.monthly_capacity, county_plan.schedule_status, list(entries)])


def _locked_at(county_plan: CountyPlan, expected_version) -> CountyPlan:
    """The county's plan, locked and as stored; refused if its schedule is no longer the one the
    user's page showed (another clerk saved or regenerated it meanwhile)."""
    county_plan = CountyPlan.objects.select_for_update().select_related("plan").get(pk=county_plan.pk)
    if expected_version is not None and expected_version != schedule_version(county_plan):
        last = PlanChange.objects.filter(plan=county_plan.plan, what__startswith=county_plan.county_code) \
            .select_related("user").first()
        since = (f"（最近一次：{last.user or '系统'}，{timezone.localtime(last.at):%Y-%m-%d %H:%M}，"
                 f"{last.what.removeprefix(county_plan.county_code).strip()}）") if last else ""
        raise StaleEdit(f"月度计划已被他人修改{since}，您的修改未保存。页面已显示当前内容，请核对后重新填写。",
                        version=schedule_version(county_plan))
    return county_plan


@transaction.atomic
def save_schedule(county_plan: CountyPlan, values: dict, *, user, expected_version=None) -> None:
    """The county edits its monthly schedule: values[(path, checkpoint)] = (installed, accepted),
    cumulative. Checked: never decreasing, accepted never above installed, the target reached by
    the county's deadline, everything accepted by the end of the assessment.
    expected_version: schedule_version() of the schedule the user saw (None: no check)."""
    _can_edit_county(user, county_plan)
    county_plan = _locked_at(county_plan, expected_version)
    if county_plan.schedule_status in ("submitted", "approved"):
        raise ValidationError({"__all__": ["月度计划已报送，须市级退回后才能修改"]})
    targets = {t.heating_path: t.households for t in county_plan.targets.all()}
    entries = {(e.heating_path, e.checkpoint): e for e in county_plan.schedule.all()}
    errors = []
    for path, target in targets.items():
        points = sorted(c for p, c in entries if p == path)
        last_installed = last_accepted = 0
        for point in points:
            installed, accepted = values.get((path, point), (entries[(path, point)].installed, entries[(path, point)].accepted))
            label = f"{dict(Target._meta.get_field('heating_path').choices)[path]} {point:%Y-%m-%d}"
            if installed < last_installed or accepted < last_accepted:
                errors.append(f"{label}：累计数不能小于上一节点")
            if accepted > installed:
                errors.append(f"{label}：累计验收不能多于累计完工")
            if installed > target:
                errors.append(f"{label}：累计完工超过目标{target}户")
            if point == county_plan.deadline and installed != target:
                errors.append(f"{label}：完成期限时累计完工须达到目标{target}户")
            if point == county_plan.plan.assessment_end and accepted != target:
                errors.append(f"{label}：考核结束时累计验收须达到目标{target}户")
            last_installed, last_accepted = installed, accepted
            entry = entries[(path, point)]
            entry.installed, entry.accepted = installed, accepted
    if errors:
        raise ValidationError({"__all__": errors})
    ScheduleEntry.objects.bulk_update(entries.values(), ["installed", "accepted"])
    PlanChange.objects.create(plan=county_plan.plan, user=user, what=f"{county_plan.county_code} 月度计划修改")


@transaction.atomic
def submit_schedule(county_plan: CountyPlan, *, user, expected_version=None) -> None:
    _can_edit_county(user, county_plan)
    county_plan = _locked_at(county_plan, expected_version)
    if county_plan.schedule_status in ("submitted", "approved"):
        raise ValidationError({"__all__": ["月度计划已报送"]})
    county_plan.schedule_status, county_plan.schedule_submitted_at = "submitted", timezone.now()
    county_plan.save(update_fields=["schedule_status", "schedule_submitted_at"])
    late = timezone.localdate() > county_plan.plan.county_plans_due
    PlanChange.objects.create(plan=county_plan.plan, user=user, what=f"{county_plan.county_code} 月度计划报送",
                              new_value="逾期报送" if late else "按期报送")


@transaction.atomic
def review_schedule(county_plan: CountyPlan, *, user, approve: bool, note: str = "") -> None:
    require_perm(user, MANAGE_USERS)
    if len(user_prefix(user)) > 4:
        raise ValidationError({"__all__": ["月度计划由市级审核"]})
    if county_plan.schedule_status != "submitted":
        raise ValidationError({"__all__": ["只有已报送的月度计划才能审核"]})
    if not approve and not (note or "").strip():
        raise ValidationError({"note": ["退回须说明原因"]})
    county_plan.schedule_status = "approved" if approve else "returned"
    county_plan.schedule_reviewed_at, county_plan.schedule_review_note = timezone.now(), (note or "").strip()
    county_plan.save(update_fields=["schedule_status", "schedule_reviewed_at", "schedule_review_note"])
    PlanChange.objects.create(plan=county_plan.plan, user=user, reason=county_plan.schedule_review_note,
                              what=f"{county_plan.county_code} 月度计划{'批准' if approve else '退回'}")


@transaction.atomic
def set_capacity(county_plan: CountyPlan, capacity, *, user, expected_version=None) -> None:
    """The county states its monthly construction capacity (none: no limit); the schedule is
    generated again."""
    _can_edit_county(user, county_plan)
    county_plan = _locked_at(county_plan, expected_version)
    if county_plan.schedule_status in ("submitted", "approved"):
        raise ValidationError({"__all__": ["月度计划已报送，须市级退回后才能修改"]})
    try:
        capacity = None if capacity is None or str(capacity).strip() == "" else \
            _households(capacity, "月施工能力", 1)
    except ValueError as exc:
        raise ValidationError({"monthly_capacity": [str(exc)]}) from None
    old = county_plan.monthly_capacity
    county_plan.monthly_capacity = capacity
    try:
        generate_schedule(county_plan)
    except ValueError as exc:
        raise ValidationError({"monthly_capacity": [str(exc)]}) from None
    county_plan.save(update_fields=["monthly_capacity"])
    PlanChange.objects.create(plan=county_plan.plan, user=user, what=f"{county_plan.county_code} 月施工能力",
                              old_value=str(old or ""), new_value=str(capacity or ""))


def township_version(county_plan: CountyPlan) -> str:
    """The version of a county's township breakdown as its page shows it (a digest)."""
    stated = county_plan.township_targets.order_by("township_code", "heating_path") \
        .values_list("township_code", "heating_path", "households")
    targets = county_plan.targets.order_by("heating_path").values_list("heating_path", "households")
    return digest([list(stated), list(targets)])


def township_breakdown(county_plan: CountyPlan) -> dict:
    """{township prefix: {path: target}} now in force: as the county set it (scaled if the city has
    since changed the county's target), or in proportion to households confirmed."""
    county = Region.objects.get(code=county_plan.county_code.ljust(12, "0"))
    targets = {t.heating_path: t.households for t in county_plan.targets.all()}
    shares = breakdown.split(targets, {}, township_targets.households_by_path(county, county_plan.plan.year),
                             stated=township_targets.stated_split(county_plan))
    return {township: share["targets"] for township, share in shares.items()}


def _can_break_down(user, county_plan: CountyPlan) -> None:
    require_perm(user, MANAGE_USERS)
    require_in_scope(user, county_plan.county_code.ljust(12, "0"))


def _locked_breakdown(county_plan: CountyPlan, expected_version) -> CountyPlan:
    county_plan = CountyPlan.objects.select_for_update().get(pk=county_plan.pk)
    if expected_version is not None and expected_version != township_version(county_plan):
        raise StaleEdit("乡镇目标分解或县级目标已被他人修改，您的修改未保存。页面已显示当前内容，请核对后重新填写。",
                        version=township_version(county_plan))
    return county_plan


@transaction.atomic
def carry_township_targets(retired: list[tuple[str, str]], *, user=None, reason: str = "") -> int:
    """Townships merged into another of their county (区划调整): their targets join the successor's,
    per county plan and path, so each county's breakdown still adds up to its target; every number
    changed is kept in the plan's history. `retired` holds (code, successor code) pairs, any level.
    Returns how many target rows were carried."""
    moves = {code[:9]: to[:9] for code, to in retired
             if codes.level_of(code) == codes.TOWNSHIP and code[:6] == to[:6]}
    carried = TownshipTarget.objects.select_for_update().filter(township_code__in=moves)
    changes = []
    for old in carried:
        into, created = TownshipTarget.objects.get_or_create(
            county_plan=old.county_plan, township_code=moves[old.township_code], heating_path=old.heating_path,
            defaults={"households": 0})
        changes.append(PlanChange(plan=old.county_plan.plan, user=user, reason=reason[:REASON_LENGTH],
                                  old_value=str(into.households), new_value=str(into.households + old.households),
                                  what=f"{old.county_plan.county_code} {into.township_code} "
                                       f"{HeatingPath(old.heating_path).label} 乡镇目标（并入 {old.township_code}）"))
        into.households += old.households
        into.save(update_fields=["households"])
    count = len(changes)
    carried.delete()
    PlanChange.objects.bulk_create(changes)
    return count


@transaction.atomic
def set_township_targets(county_plan: CountyPlan, values: dict, *, user, expected_version=None,
                         reason: str = "") -> int:
    """The county breaks its targets down to its townships: values[(township prefix, path)] =
    households as typed. For each path the townships must add up to the county's target. Every
    changed number is kept in the plan's history. Returns how many numbers changed."""
    _can_break_down(user, county_plan)
    county_plan = _locked_breakdown(county_plan, expected_version)
    names = dict(Region.objects.filter(level=codes.TOWNSHIP, code__startswith=county_plan.county_code)
                 .values_list("code", "name"))
    names = {code[:9]: name for code, name in names.items()}
    targets = {t.heating_path: t.households for t in county_plan.targets.all()}
    current = township_breakdown(county_plan)
    errors, wanted = [], {}
    for township in sorted(names):
        for path in targets:
            label = f"{names[township]} {HeatingPath(path).label}"
            try:
                raw = values.get((township, path), current.get(township, {}).get(path, 0))
                wanted[(township, path)] = _households(raw, label, 0)
            except ValueError as exc:
                errors.append(str(exc))
    unknown = sorted({t for t, p in values if t not in names} | {p for t, p in values if p not in targets})
    if unknown:
        errors.append(f"不属于本县的乡镇或没有目标的取暖路径：{'、'.join(inputs.shown(u) for u in unknown)}")
    for path, target in targets.items():
        added = sum(n for (_, p), n in wanted.items() if p == path)
        if not errors and added != target:
            errors.append(f"{HeatingPath(path).label}：各乡镇合计{added}户，与县级目标{target}户不一致")
    if errors:
        raise ValidationError({"__all__": errors})
    try:
        reason = inputs.text(reason, "原因", max_length=PlanChange._meta.get_field("reason").max_length)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None
    changed = [(t, p, current.get(t, {}).get(p, 0), n) for (t, p), n in sorted(wanted.items())
               if current.get(t, {}).get(p, 0) != n]
    county_plan.township_targets.all().delete()
    TownshipTarget.objects.bulk_create([TownshipTarget(county_plan=county_plan, township_code=t, heating_path=p,
                                                       households=n) for (t, p), n in sorted(wanted.items())])
    PlanChange.objects.bulk_create([PlanChange(
        plan=county_plan.plan, user=user, reason=reason, old_value=str(old), new_value=str(new),
        what=f"{county_plan.county_code} {names[t]} {HeatingPath(p).label} 乡镇目标") for t, p, old, new in changed])
    return len(changed)


@transaction.atomic
def reset_township_targets(county_plan: CountyPlan, *, user, expected_version=None) -> None:
    """Back to the default breakdown: in proportion to households confirmed in each township."""
    _can_break_down(user, county_plan)
    county_plan = _locked_breakdown(county_plan, expected_version)
    if county_plan.township_targets.exists():
        county_plan.township_targets.all().delete()
        PlanChange.objects.create(plan=county_plan.plan, user=user,
                                  what=f"{county_plan.county_code} 乡镇目标恢复按确村确户户数比例分解")
