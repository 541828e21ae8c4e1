"""The winter dashboard (冬季运行看板) of the hotline: grouped counts straight from the database, a handful
of queries whatever the number of tickets.

Figures for a heating season (tickets opened from 1 October to 30 April): open tickets by county, vendor
and category; SLA compliance (share of resolved tickets that met every deadline); median time to repair
(opening to resolution, the middle value); the vendors whose teams breach most; callback satisfaction per
vendor and county; households with repeated faults (REPEAT_LIMIT or more no-heat / device tickets in the
season), flagged for inspection."""
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat.regions.models import Region

from .models import OPEN_STATUSES, Category, SlaStatus, Status

REPEAT_LIMIT = 3
FAULTS = (Category.NO_HEAT, Category.DEVICE)
DONE = (Status.RESOLVED, Status.CLOSED)


@dataclass
class Season:
    year: int

    @property
    def start(self) -> datetime:
        return datetime.combine(date(self.year, 10, 1), time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def end(self) -> datetime:
        return datetime.combine(date(self.year + 1, 5, 1), time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))

    @property
    def label(self) -> str:
        return f"{self.year}—{self.year + 1}采暖季"


def season_of(day: date) -> Season:
    return Season(day.year if day.month >= 7 else day.year - 1)


def _pct(part, whole):
    return round(100 * part / whole, 1) if whole else None


def figures(tickets, season: Season) -> dict:
    """Everything the dashboard shows, for the tickets given (already scoped) in the season."""
    season_q = tickets.filter(opened_at__gte=season.start, opened_at__lt=season.end)
    open_q = season_q.filter(status__in=OPEN_STATUSES)
    county = Substr("village_code", 1, 6)
    names = dict(Region.objects.filter(level=2).values_list("code", "name"))

    def county_name(code):
        return names.get(code.ljust(12, "0"), code)

    by_county = {r["c"]: r for r in season_q.annotate(c=county).values("c").annotate(
        total=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        open_no_heat=Count("pk", filter=Q(status__in=OPEN_STATUSES, category=Category.NO_HEAT)),
        done=Count("pk", filter=Q(status__in=DONE)),
        met=Count("pk", filter=Q(status__in=DONE, breached_at__isnull=True)),
        asked=Count("pk", filter=Q(satisfied__isnull=False)), happy=Count("pk", filter=Q(satisfied=True)))}
    counties = [{"code": c, "name": county_name(c), "total": r["total"], "open": r["open"],
                 "open_no_heat": r["open_no_heat"], "sla_pct": _pct(r["met"], r["done"]),
                 "satisfaction_pct": _pct(r["happy"], r["asked"])} for c, r in sorted(by_county.items())]
    vendors = [{"id": r["team__organisation"], "name": r["team__organisation__name"], "total": r["total"],
                "open": r["open"], "breached": r["breached"], "breach_pct": _pct(r["breached"], r["total"]),
                "satisfaction_pct": _pct(r["happy"], r["asked"])}
               for r in season_q.filter(team__organisation__kind="vendor")
               .values("team__organisation", "team__organisation__name").annotate(
                   total=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
                   breached=Count("pk", filter=Q(breached_at__isnull=False)),
                   asked=Count("pk", filter=Q(satisfied__isnull=False)), happy=Count("pk", filter=Q(satisfied=True)))]
    vendors.sort(key=lambda v: (-(v["breach_pct"] or 0), -v["breached"], v["name"]))
    labels = dict(Category.choices)
    categories = [{"code": r["category"], "name": str(labels.get(r["category"], r["category"])), "open": r["n"]}
                  for r in open_q.values("category").annotate(n=Count("pk")).order_by("-n")]
    done = season_q.filter(status__in=DONE)
    done_count = sum(c["total"] - c["open"] for c in counties) if counties else 0
    met = done.filter(breached_at__isnull=True).count() if done_count else 0
    repaired = season_q.filter(repair_minutes__isnull=False)
    middle = repaired.count()
    median = repaired.order_by("repair_minutes").values_list("repair_minutes", flat=True)[middle // 2] \
        if middle else None
    repeated = list(season_q.filter(category__in=FAULTS, household__isnull=False).values(
        "household_id", "household__household_no", "household__householder_name", "village_code")
        .annotate(n=Count("pk")).filter(n__gte=REPEAT_LIMIT).order_by("-n", "household__household_no")[:200])
    return {
        "season": season.label, "total": sum(c["total"] for c in counties),
        "open": sum(c["open"] for c in counties),
        "at_risk": open_q.filter(sla_status=SlaStatus.AT_RISK).count(),
        "breached_open": open_q.filter(sla_status=SlaStatus.BREACHED).count(),
        "sla_pct": _pct(met, done_count), "median_repair_hours": round(median / 60, 1) if median is not None else None,
        "counties": counties, "vendors": vendors, "categories": categories,
        "repeated": [{"household_no": r["household__household_no"], "name": r["household__householder_name"],
                      "county": county_name(r["village_code"][:6]), "faults": r["n"]} for r in repeated],
    }


def today_season() -> Season:
    return season_of(timezone.localdate())
