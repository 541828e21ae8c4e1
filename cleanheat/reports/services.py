"""The reports app's reads and writes: emission totals and calibration from the ledger (the arithmetic
is reports.emissions), coal-ban villages (禁煤区) with their scope check, and follow-ups of region
changes. Every read takes the caller's region; views check the scope before calling."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat.access import has_perm, require_in_scope, require_perm, user_prefix
from cleanheat.accounts.roles import COAL_BAN, EDIT, MANAGE_USERS, REPORTS
from cleanheat.figures.cache import cached
from cleanheat.ledger.choices import STATE_ORDER, HeatingPath, LifecycleState
from cleanheat.ledger.models import EnergyDemand, Household
from cleanheat.pdf import render_pdf
from cleanheat.plan import progress
from cleanheat.plan.models import CountyPlan, Plan
from cleanheat.procurement.models import AdvisorConfig
from cleanheat.regions import codes
from cleanheat.regions.models import Region
from cleanheat.regions.scope import code_q
from cleanheat.rules import engine as rules_engine

from . import emissions, figures, tables
from .models import (
    CoalBanVillage,
    CoalUse,
    EmissionFactor,
    EmissionSettings,
    GeneratedReport,
    PathEnergy,
    RetrofitProject,
)

PROVEN = ("proven", "removed")          # 稳定运行满一个采暖季 (and the old facility removed since)
UNPROVEN = ("installed", "accepted")    # installed, its first season not yet run
CONVERTED = STATE_ORDER.index("installed")
REVIEW_PREFIX = 6                       # city (4) and county (6) managers review the reports below them
PDF_TEMPLATE = "reports/report_pdf.html"
PDF_STYLES = ["css/report_print.css"]


# ---- parameters (data) ------------------------------------------------------------------------

@dataclass
class Parameters:
    basis: str
    coal: emissions.Coal
    coal_use: dict          # county code (6) or "" → t per household-season
    carriers: dict          # heating path → emissions.Carrier
    units: dict             # heating path → unit label of its carrier

    def surveyed_t(self, county: str) -> float:
        return self.coal_use.get(county, self.coal_use.get("", 0.0))


def factors_for(season: int) -> dict:
    """{carrier: {pollutant: kg per unit}}: for each, the factor of the latest year up to `season`
    (else the earliest one given)."""
    chosen = {}
    for f in EmissionFactor.objects.order_by("carrier", "pollutant", "year"):
        key = (f.carrier, f.pollutant)
        if key not in chosen or f.year <= season:
            chosen[key] = float(f.kg_per_unit)
    out = defaultdict(dict)
    for (carrier, pollutant), value in chosen.items():
        out[carrier][pollutant] = value
    return dict(out)


def parameters(city_code: str, season: int) -> Parameters:
    city = codes.full_code(city_code[:4])
    s = EmissionSettings.objects.filter(city_code=city).first()
    if s is None:
        raise ValidationError({"__all__": ["尚未登记本市的减排测算参数（报表与减排 → 减排测算参数）"]})
    factors = factors_for(season)
    coal = emissions.Coal(float(s.coal_mj_per_kg), float(s.stove_efficiency), factors.get("coal", {}))
    carriers, units = {}, {}
    for pe in PathEnergy.objects.filter(city_code=city):
        carriers[pe.heating_path] = emissions.Carrier(float(pe.efficiency), float(pe.mj_per_unit),
                                                      factors.get(pe.carrier, {}))
        units[pe.heating_path] = pe.unit
    coal_use = {c.county_code: float(c.t_per_household) for c in CoalUse.objects.filter(city_code=city)}
    return Parameters(s.basis, coal, coal_use, carriers, units)


# ---- emissions avoided ------------------------------------------------------------------------

def season_date(plan: Plan, on: date | None = None) -> date:
    """The date a season's figures are counted on: the given date, by default the annual report's
    due date (a month after the heating season, §七(一): households proven by the season's end are
    registered then); never later than today."""
    return min(on or plan.annual_report_due, timezone.localdate())


def mean_demand(prefix: str) -> dict:
    """{(county, path): mean seasonal heat (kWh) of the active households that have one}."""
    rows = (EnergyDemand.objects.filter(code_q("household__village_id", prefix), household__archived=False)
            .annotate(county=Substr("household__village_id", 1, 6))
            .values_list("county", "household__heating_path").annotate(m=Avg("seasonal_heat_kwh")).order_by())
    return {(county, path): float(m) for county, path, m in rows}


def season_totals(region: Region, plan: Plan, on: date | None = None) -> dict:
    """Emissions avoided in the heating season of `plan`'s year by the households under `region` of
    that plan year or earlier, per county and path, as of `on` (season_date): households count once
    proven (稳定运行), the installed-but-unproven are shown beside. Cached until the next write."""
    on = season_date(plan, on)
    return cached("reports.emissions", (region.code, plan.pk, on), lambda: _season_totals(region, plan, on))


def _season_totals(region: Region, plan: Plan, on: date) -> dict:
    params = parameters(region.code, plan.year)
    counts = defaultdict(lambda: defaultdict(int))  # county → (path, group) → households
    for year in Plan.objects.filter(city_code=plan.city_code, year__lte=plan.year).values_list("year", flat=True):
        for county, per in progress.counts_on(region.prefix, 6, on, year).items():
            for (path, state), n in per.items():
                group = "proven" if state in PROVEN else "unproven" if state in UNPROVEN else None
                if group:
                    counts[county][(path, group)] += n
    demand = mean_demand(region.prefix) if params.basis == "demand" else {}
    names = dict(Region.objects.filter(level=codes.COUNTY).values_list("code", "name"))
    rows, by_county, by_path = [], defaultdict(emissions.zero), defaultdict(emissions.zero)
    total, unproven_total = emissions.zero(), emissions.zero()
    households = {"proven": 0, "unproven": 0}
    for county in sorted(counts):
        for path in HeatingPath.values:
            proven, unproven = counts[county].get((path, "proven"), 0), counts[county].get((path, "unproven"), 0)
            if not proven and not unproven:
                continue
            carrier = params.carriers.get(path)
            if carrier is None:
                raise ValidationError({"__all__": [f"取暖路径“{HeatingPath(path).label}”未登记能源参数"]})
            mean = demand.get((county, path))
            figures = {}
            for group, n in (("proven", proven), ("unproven", unproven)):
                figures[group] = emissions.for_households(
                    n, params.coal, carrier, basis=params.basis, surveyed_t=params.surveyed_t(county),
                    demand_kwh=(mean or 0.0) * n, with_demand=n if mean is not None else 0)
                households[group] += n
            rows.append({"county": county, "name": names.get(codes.full_code(county), county), "path": path,
                         "path_label": str(HeatingPath(path).label), "unit": params.units.get(path, ""),
                         "proven_households": proven, "unproven_households": unproven, **figures})
            by_county[county] = emissions.add(by_county[county], figures["proven"])
            by_path[path] = emissions.add(by_path[path], figures["proven"])
            total = emissions.add(total, figures["proven"])
            unproven_total = emissions.add(unproven_total, figures["unproven"])
    return {"season": plan.year, "on": on, "basis": params.basis, "rows": rows,
            "by_county": [{"county": c, "name": names.get(codes.full_code(c), c), **v}
                          for c, v in sorted(by_county.items())],
            "by_path": [{"path": p, "label": str(HeatingPath(p).label), **v} for p, v in by_path.items()],
            "total": total, "unproven": unproven_total, "households": households}


# ---- calibration ------------------------------------------------------------------------------

def calibration(region: Region, plan: Plan) -> dict:
    """Per county: the sizing's mean seasonal heat per household next to the heat of the surveyed coal
    use, their ratio and a suggested usage factor (emissions.calibration)."""
    params = parameters(region.code, plan.year)
    config = AdvisorConfig.objects.filter(city_code=codes.full_code(region.code[:4])).order_by("-year").first()
    usage = float(config.usage_factor) if config else 1.0
    rows = (EnergyDemand.objects.filter(code_q("household__village_id", region.prefix), household__archived=False)
            .annotate(county=Substr("household__village_id", 1, 6))
            .values_list("county").annotate(m=Avg("seasonal_heat_kwh"), n=Count("id")).order_by("county"))
    names = dict(Region.objects.filter(level=codes.COUNTY).values_list("code", "name"))
    out = []
    for county, mean, n in rows:
        surveyed = params.surveyed_t(county)
        out.append({"county": county, "name": names.get(codes.full_code(county), county), "households": n,
                    "surveyed_t": surveyed, **emissions.calibration(float(mean), surveyed, params.coal, usage)})
    return {"usage_factor": usage, "config_year": config.year if config else None, "rows": out,
            "coal_mj_per_kg": params.coal.mj_per_kg, "stove_efficiency": params.coal.stove_efficiency}


# ---- coal-ban zones (禁煤区) --------------------------------------------------------------------

def active_q(on: date) -> Q:
    return Q(since__lte=on) & (Q(until__isnull=True) | Q(until__gt=on))


@transaction.atomic
def mark_coal_ban(user, *, village_code: str, zone: str, since: date, document_no: str = "") -> CoalBanVillage:
    """Mark a village as inside a coal-ban zone from `since`; only within the caller's county."""
    require_perm(user, COAL_BAN)
    village_code = (village_code or "").strip()
    if not village_code.startswith(user_prefix(user)):  # checked first: says nothing of places outside
        raise ValidationError({"village_code": [
            f"区划代码“{village_code}”不在您的管辖范围内，不能划入禁煤区；请由所属县（市、区）登记"]})
    village = Region.objects.filter(code=village_code, level=codes.VILLAGE).first()
    if village is None:
        raise ValidationError({"village_code": [f"村（社区）区划代码“{village_code}”不存在"]})
    if not (zone or "").strip():
        raise ValidationError({"zone": ["须填写禁煤区名称"]})
    if since is None:
        raise ValidationError({"since": ["须填写划定日期"]})
    if CoalBanVillage.objects.filter(village_code=village_code).filter(Q(until__isnull=True) | Q(until__gt=since)).exists():
        raise ValidationError({"village_code": [f"{village.name}已在禁煤区内"]})
    return CoalBanVillage.objects.create(village_code=village_code, zone=zone.strip(), since=since,
                                         document_no=(document_no or "").strip(), marked_by=user)


@transaction.atomic
def lift_coal_ban(user, marking: CoalBanVillage, *, until: date) -> CoalBanVillage:
    require_perm(user, COAL_BAN)
    if not marking.village_code.startswith(user_prefix(user)):
        raise PermissionDenied("不在您的管辖范围内")
    if until is None or until <= marking.since:
        raise ValidationError({"until": ["解除日期须晚于划定日期"]})
    marking.until = until
    marking.save(update_fields=["until"])
    return marking


def on_coal(prefix: str, on: date) -> dict:
    """{village code: [households still on coal]} in the coal-ban villages under `prefix` as of `on`:
    not converted yet, or converted but the original facility not removed once the heating season
    after which it may be (先立后破: the plan year's heating_season_end) has passed."""
    villages = list(CoalBanVillage.objects.filter(code_q("village_code", prefix)).filter(active_q(on))
                    .values_list("village_code", flat=True))
    season_end = dict(Plan.objects.values_list("year", "heating_season_end"))
    out = defaultdict(list)
    rows = (Household.objects.filter(village_id__in=villages, archived=False).exclude(state=LifecycleState.REMOVED)
            .values_list("household_no", "householder_name", "village_id", "state", "plan_year", "heating_path")
            .order_by("household_no"))
    for number, name, village, state, year, path in rows:
        converted = STATE_ORDER.index(state) >= CONVERTED
        end = season_end.get(year)
        if not converted:
            reason = "未改造"
        elif end and end < on:
            reason = "已改造，原燃煤设施逾期未拆除"
        else:
            continue
        out[village].append({"household_no": number, "name": name, "state": LifecycleState(state).label,
                             "path": HeatingPath(path).label, "reason": reason})
    return dict(out)


def zones(prefix: str, on: date) -> list[dict]:
    """One row per coal-ban zone (county × zone name) under `prefix`: villages, households still on
    coal, and its 散煤清零 status."""
    markings = list(CoalBanVillage.objects.filter(code_q("village_code", prefix)).filter(active_q(on))
                    .order_by("village_code"))
    left = on_coal(prefix, on)
    names = dict(Region.objects.filter(code__in=[m.village_code for m in markings]).values_list("code", "name"))
    counties = dict(Region.objects.filter(level=codes.COUNTY).values_list("code", "name"))
    grouped = defaultdict(list)
    for m in markings:
        grouped[(m.village_code[:6], m.zone)].append(m)
    out = []
    for (county, zone), items in sorted(grouped.items()):
        villages = [{"code": m.village_code, "name": names.get(m.village_code, m.village_code), "since": m.since,
                     "document_no": m.document_no, "id": m.pk, "households": left.get(m.village_code, [])}
                    for m in items]
        remaining = sum(len(v["households"]) for v in villages)
        out.append({"county": county, "county_name": counties.get(codes.full_code(county), county), "zone": zone,
                    "villages": villages, "remaining": remaining, "cleared": remaining == 0})
    return out


def follow_village_codes(villages: dict) -> None:
    """Villages re-coded by a region change (old code → new): their coal-ban markings move with them."""
    for old, new in villages.items():
        CoalBanVillage.objects.filter(village_code=old).update(village_code=new)


# ---- reports from templates --------------------------------------------------------------------

@transaction.atomic
def generate(user, template, region, plan, on, storage) -> GeneratedReport:
    """Fill `template` for `region` on `on` and keep the file (in `storage`) with its hash, and its PDF
    drawn from that file with the PDF's hash; a date before the plan is refused."""
    require_perm(user, REPORTS)
    require_in_scope(user, region.code)
    if plan is None:
        raise ValidationError({"__all__": ["没有可用的年度计划"]})
    if on < plan.county_plans_due.replace(month=1, day=1):
        raise ValidationError({"asof": [f"统计日期 {on:%Y-%m-%d} 早于{plan.year}年度计划，无法生成报表"]})
    totals = season_totals(region, plan, on) if figures.uses_emissions(bytes(template.content)) else None
    content = figures.fill(bytes(template.content), figures.Source(region, plan, on, totals))
    name = f"{template.code}-{region.code}-{on:%Y%m%d}.xlsx"
    report = GeneratedReport.objects.create(template=template, region_code=region.code, on=on, plan_year=plan.year,
                                            file_name="", sha256=figures.digest(content), created_by=user)
    report.file_name = storage.save(f"{report.pk}/{name}", ContentFile(content))
    report.save(update_fields=["file_name"])
    _keep_pdf(report, content, storage)
    return report


def report_pdf(report: GeneratedReport, content: bytes) -> bytes:
    """The PDF of a report, drawn from its .xlsx bytes (reports.tables), so it shows the same figures."""
    creator = report.created_by
    return render_pdf(PDF_TEMPLATE, {
        "report": report, "sheets": tables.sheets(content), "xlsx_name": Path(report.file_name).name,
        "region_name": Region.objects.filter(code=report.region_code).values_list("name", flat=True).first() or "",
        "creator": creator.full_name or creator.username}, stylesheets=PDF_STYLES)


def _keep_pdf(report: GeneratedReport, content: bytes, storage) -> None:
    pdf = report_pdf(report, content)
    report.pdf_name = storage.save(f"{Path(report.file_name).with_suffix('.pdf')}", ContentFile(pdf))
    report.pdf_sha256 = figures.digest(pdf)
    report.save(update_fields=["pdf_name", "pdf_sha256"])


@transaction.atomic
def ensure_pdf(report: GeneratedReport, storage) -> GeneratedReport:
    """A report generated before PDFs were kept gets its PDF once, from its kept .xlsx."""
    report = GeneratedReport.objects.select_for_update().get(pk=report.pk)
    if not report.pdf_name:
        with storage.open(report.file_name, "rb") as f:
            _keep_pdf(report, f.read(), storage)
    return report


@transaction.atomic
def submit_report(user, report: GeneratedReport) -> GeneratedReport:
    """A unit submits its own report upward (township → county, county → city; the city's to the
    province), like a dispatch report; a returned report is replaced by a newly generated one."""
    require_perm(user, REPORTS)
    prefix = user_prefix(user)
    if report.region_code != codes.full_code(prefix) and not user.is_superuser:
        raise PermissionDenied("只能报送本单位的报表")
    if report.status != "draft":
        raise ValidationError({"__all__": ["该报表已报送或已退回；如需修改，请重新生成后报送"]})
    report.status, report.submitted_at = "submitted", timezone.now()
    report.save(update_fields=["status", "submitted_at"])
    return report


@transaction.atomic
def return_report(user, report: GeneratedReport, *, reason: str) -> GeneratedReport:
    """A unit above the report's (the city for a county's, the county or the city for a township's)
    returns a submitted report with a reason."""
    require_perm(user, MANAGE_USERS)
    if not _above(user, report.region_code):
        raise PermissionDenied("报表由上级单位审核退回")
    if report.status != "submitted":
        raise ValidationError({"__all__": ["只能退回已报送的报表"]})
    if not (reason or "").strip():
        raise ValidationError({"reason": ["退回须说明原因"]})
    report.status, report.return_reason = "returned", reason.strip()[:200]
    report.save(update_fields=["status", "return_reason"])
    return report


def can_return(user) -> bool:
    """Whether the user reviews reports of the units below (city and county managers)."""
    return has_perm(user, MANAGE_USERS) and len(user_prefix(user)) <= REVIEW_PREFIX


def _above(user, region_code: str) -> bool:
    """The report's unit lies strictly below the user's own (a superuser is above every unit)."""
    if user.is_superuser:
        return True
    prefix = user_prefix(user)
    return (len(prefix) <= REVIEW_PREFIX and region_code.startswith(prefix)
            and len(codes.prefix_of(region_code)) > len(prefix))


# ---- building energy retrofit (§二(二), §三(四)) ---------------------------------------------------

MEASURES = ("外墙保温", "屋面保温", "门窗更换", "地面保温", "其他")


@transaction.atomic
def add_retrofit(user, *, kind: str, region_code: str, area_m2, plan_year: int, name: str = "", address: str = "",
                 before_kwh_m2=None, after_kwh_m2=None, gain_pct=None, measures=(), household_no: str = "",
                 completed_on: date | None = None) -> RetrofitProject:
    """Register a retrofit project within the caller's scope. A county-town building's gain is
    computed from its energy use per m² before and after; a rural envelope's is measured. Either must
    reach the rules' minimum (rules.engine.retrofit_problem, 30 % in the 2022 plan)."""
    require_perm(user, EDIT)
    errors = retrofit_problems(user, kind=kind, region_code=region_code, area_m2=area_m2, plan_year=plan_year,
                               before_kwh_m2=before_kwh_m2, after_kwh_m2=after_kwh_m2, gain_pct=gain_pct,
                               measures=measures, household_no=household_no)
    if errors:
        raise ValidationError(errors)
    household = Household.objects.filter(household_no=household_no).first() if household_no else None
    gain = _gain(kind, before_kwh_m2, after_kwh_m2, gain_pct)
    return RetrofitProject.objects.create(
        kind=kind, region_code=region_code, household=household, name=(name or "").strip()[:80],
        address=(address or "").strip()[:120], area_m2=Decimal(str(area_m2)),
        before_kwh_m2=before_kwh_m2 if kind == "town" else None, after_kwh_m2=after_kwh_m2 if kind == "town" else None,
        gain_pct=gain, measures="、".join(measures), plan_year=plan_year, completed_on=completed_on, created_by=user)


def _gain(kind, before, after, measured) -> int:
    if kind == "town":
        return round(100 * (1 - float(after) / float(before)))
    return int(measured)


def retrofit_problems(user, *, kind, region_code, area_m2, plan_year, before_kwh_m2, after_kwh_m2, gain_pct,
                      measures, household_no) -> dict:
    """{field: [message]} of what is wrong with a retrofit project (nothing written)."""
    errors = defaultdict(list)
    region_code = region_code or ""
    if kind not in ("town", "rural"):
        errors["kind"].append("改造类型应为县城既有建筑或农村围护结构")
    if not region_code.startswith(user_prefix(user)):
        errors["region_code"].append(f"区划代码“{region_code}”不在您的管辖范围内")
    elif not Region.objects.filter(code=region_code).exists():
        errors["region_code"].append(f"区划代码“{region_code}”不存在")
    elif kind == "rural" and not Region.objects.filter(code=region_code, level=codes.VILLAGE).exists():
        errors["region_code"].append("农村围护结构改造须填写所在村（社区）的区划代码")
    try:
        if area_m2 is None or float(area_m2) <= 0:
            errors["area_m2"].append("改造面积须大于0")
    except (TypeError, ValueError):
        errors["area_m2"].append("改造面积须为数字")
    if not Plan.objects.filter(year=plan_year).exists():
        errors["plan_year"].append(f"{plan_year}年度没有计划")
    gain = None
    if kind == "town":
        if before_kwh_m2 is None or after_kwh_m2 is None or not 0 < float(after_kwh_m2) < float(before_kwh_m2):
            errors["after_kwh_m2"].append("须填写改造前、后单位面积能耗，且改造后低于改造前")
        else:
            gain = _gain(kind, before_kwh_m2, after_kwh_m2, None)
    elif kind == "rural":
        if gain_pct is None:
            errors["gain_pct"].append("须填写实测能效提升（%）")
        else:
            gain = int(gain_pct)
        unknown = [m for m in measures if m not in MEASURES]
        if not measures or unknown:
            errors["measures"].append(f"改造措施应从：{'、'.join(MEASURES)} 中选择")
        if household_no:
            hh = Household.objects.filter(household_no=household_no, archived=False).first()
            if hh is None or not hh.village_id.startswith(user_prefix(user)) or hh.village_id != region_code:
                errors["household_no"].append(f"户编号“{household_no}”不是该村的在册户")
    if gain is not None and not errors.get("region_code"):
        problem = rules_engine.retrofit_problem(True, gain, region_code)
        if problem:
            errors["gain_pct" if kind == "rural" else "after_kwh_m2"].append(problem)
    return dict(errors)


def retrofit_progress(region: Region, plan: Plan, on: date) -> list[dict]:
    """Per county under `region`: the plan's m² targets and the m² completed by `on` (plan year's
    projects), for county-town buildings and rural envelopes."""
    done = defaultdict(lambda: {"town": 0.0, "rural": 0.0})
    rows = (RetrofitProject.objects.filter(code_q("region_code", region.prefix), plan_year=plan.year,
                                           completed_on__lte=on)
            .annotate(county=Substr("region_code", 1, 6)).values_list("county", "kind").annotate(m2=Sum("area_m2"))
            .order_by())
    for county, kind, m2 in rows:
        done[county][kind] = float(m2)
    names = dict(Region.objects.filter(level=codes.COUNTY).values_list("code", "name"))
    out = []
    for cp in CountyPlan.objects.filter(plan=plan, county_code__startswith=region.prefix[:6]).order_by("county_code"):
        if not cp.county_code.startswith(region.prefix[:6]):
            continue
        d = done[cp.county_code]
        out.append({"county": cp.county_code, "name": names.get(codes.full_code(cp.county_code), cp.county_code),
                    "town_target": cp.building_town_m2, "town_done": d["town"],
                    "town_rate": round(100 * d["town"] / cp.building_town_m2, 1) if cp.building_town_m2 else None,
                    "rural_target": cp.building_rural_m2, "rural_done": d["rural"],
                    "rural_rate": round(100 * d["rural"] / cp.building_rural_m2, 1) if cp.building_rural_m2 else None})
    return out
