"""The winter dashboard (冬季运行看板) of the hotline: grouped counts straight from the database, a handful
of queries whatever the number of tickets.

Figures for a heating season (tickets opened from 1 October to 30 April): open tickets by county, vendor
and category; SLA compliance (share of resolved tickets that met every deadline); median time to repair
(opening to resolution, the middle value); the vendors whose teams breach most; callback satisfaction per
vendor and county; households with repeated faults (REPEAT_LIMIT or more no-heat / device tickets in the
season), flagged for inspection."""
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.db.models.functions import Substr
from django.utils import timezone

from cleanheat.access import user_prefix
from cleanheat.figures.cache import cached
from cleanheat.ledger.models import Household
from cleanheat.regions.models import Region

from .models import OPEN_STATUSES, Category, RepairTeam, SlaStatus, Status, Ticket
from .queries import TEAM_ROLES

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
    """Everything the dashboard shows, for the tickets given (already scoped) in the season: one grouped
    scan (county × team × category × status × breached × satisfied × SLA status, a few hundred groups,
    summed here), the median's one row, and the repeated-fault households."""
    season_q = tickets.filter(opened_at__gte=season.start, opened_at__lt=season.end)
    groups = season_q.annotate(c=Substr("village_code", 1, 6), late=ExpressionWrapper(
        Q(breached_at__isnull=False), output_field=BooleanField())).values(
        "c", "team_id", "category", "status", "late", "satisfied", "sla_status").annotate(
        n=Count("pk"), repaired=Count("repair_minutes")).order_by()
    names = dict(Region.objects.filter(level=2).values_list("code", "name"))
    org_of = {t: (o, name) for t, o, name in RepairTeam.objects.filter(organisation__kind="vendor")
              .values_list("pk", "organisation_id", "organisation__name")}
    counties, vendors, categories = defaultdict(Counter), defaultdict(Counter), Counter()
    total = Counter()
    for g in groups:
        n, is_open, is_done = g["n"], g["status"] in OPEN_STATUSES, g["status"] in DONE
        flags = {"total": n, "open": n if is_open else 0, "done": n if is_done else 0,
                 "met": n if is_done and not g["late"] else 0, "breached": n if g["late"] else 0,
                 "asked": n if g["satisfied"] is not None else 0, "happy": n if g["satisfied"] else 0,
                 "open_no_heat": n if is_open and g["category"] == Category.NO_HEAT else 0,
                 "at_risk": n if is_open and g["sla_status"] == SlaStatus.AT_RISK else 0,
                 "breached_open": n if is_open and g["sla_status"] == SlaStatus.BREACHED else 0,
                 "repaired": g["repaired"]}
        counties[g["c"]].update(flags)
        total.update(flags)
        if g["team_id"] in org_of:
            vendors[org_of[g["team_id"]]].update(flags)
        if is_open:
            categories[g["category"]] += n
    median = None
    if total["repaired"]:
        median = season_q.filter(repair_minutes__isnull=False).order_by("repair_minutes") \
            .values_list("repair_minutes", flat=True)[total["repaired"] // 2]
    repeated = list(season_q.filter(category__in=FAULTS, household__isnull=False).values("household_id")
                    .annotate(n=Count("pk")).filter(n__gte=REPEAT_LIMIT).order_by("-n", "household_id")
                    .values_list("household_id", "n")[:200])
    homes = {pk: (no, name, v) for pk, no, name, v in Household.objects.filter(pk__in=[h for h, _ in repeated])
             .values_list("pk", "household_no", "householder_name", "village_id")}

    def county_name(code):
        return names.get(code.ljust(12, "0"), code)

    labels = dict(Category.choices)
    vendor_rows = [{"id": org, "name": name, "total": v["total"], "open": v["open"], "breached": v["breached"],
                    "breach_pct": _pct(v["breached"], v["total"]), "satisfaction_pct": _pct(v["happy"], v["asked"])}
                   for (org, name), v in vendors.items()]
    vendor_rows.sort(key=lambda v: (-(v["breach_pct"] or 0), -v["breached"], v["name"]))
    return {
        "season": season.label, "total": total["total"], "open": total["open"], "at_risk": total["at_risk"],
        "breached_open": total["breached_open"], "sla_pct": _pct(total["met"], total["done"]),
        "median_repair_hours": round(median / 60, 1) if median is not None else None,
        "counties": [{"code": c, "name": county_name(c), "total": v["total"], "open": v["open"],
                      "open_no_heat": v["open_no_heat"], "sla_pct": _pct(v["met"], v["done"]),
                      "satisfaction_pct": _pct(v["happy"], v["asked"])} for c, v in sorted(counties.items())],
        "vendors": vendor_rows,
        "categories": [{"code": c, "name": str(labels.get(c, c)), "open": n} for c, n in categories.most_common()],
        "repeated": [{"household_no": homes[h][0], "name": homes[h][1], "county": county_name(homes[h][2][:6]),
                      "faults": n} for h, n in repeated if h in homes],
    }


def generation() -> str:
    """The last change to any ticket (every write, the SLA sweep's included, moves `changed_at`; tickets
    are never deleted): one index lookup. Figures cached before it are stale."""
    last = Ticket.objects.aggregate(last=Max("changed_at"))["last"]
    return last.isoformat() if last else ""


def cached_figures(user, tickets, season: Season) -> dict:
    """figures(), kept in the figures cache until a ticket in the user's view changes."""
    parts = (user_prefix(user), user.organisation_id if user.role in TEAM_ROLES else "", season.year, generation())
    return cached("service.dashboard", parts, lambda: figures(tickets, season))


def today_season() -> Season:
    return season_of(timezone.localdate())
