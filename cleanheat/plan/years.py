"""Which plan year and which date a page shows, from its address: ?year=2023&asof=2023-06-30.
Without them, the latest plan of the city and today; plans of several years coexist, and each
household counts in the plan year of its conversion (Household.plan_year)."""
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from django.utils import timezone

from .models import Plan

ALL = "all"  # the region page may also show every year together


@dataclass
class Choice:
    plans: list = field(default_factory=list)  # the city's plans, latest first
    plan: Plan | None = None                   # None with ?year=all (or no plan at all)
    on: date = None                            # the "as of" date (today by default)
    all_years: bool = False

    @property
    def year(self) -> int | None:
        return self.plan.year if self.plan else None

    @property
    def is_today(self) -> bool:
        return self.on >= timezone.localdate()

    @property
    def finished(self) -> bool:
        """The plan's works deadline has passed on the date shown."""
        return bool(self.plan) and self.on > self.plan.works_deadline

    @property
    def query(self) -> str:
        """The address parameters that keep this choice on links to other pages."""
        params = {}
        if self.all_years:
            params["year"] = ALL
        elif self.plan and self.plan != latest_on(self.plans, self.on):
            params["year"] = self.plan.year
        if not self.is_today:
            params["asof"] = self.on.isoformat()
        return urlencode(params)


    @property
    def suffix(self) -> str:
        """"?" and the query, or nothing, for the end of a link."""
        return f"?{self.query}" if self.query else ""


def plans_of(city_code: str) -> list[Plan]:
    """The city's plans, latest first."""
    return list(Plan.objects.filter(city_code=city_code.ljust(12, "0")).order_by("-year"))


def as_of(params) -> date:
    """?asof= (or the older ?date=) as a date, today when absent, not a date or in the future."""
    today = timezone.localdate()
    text = params.get("asof") or params.get("date") or ""
    try:
        return min(date.fromisoformat(text), today) if text else today
    except ValueError:
        return today


def latest_on(plans: list[Plan], on: date) -> Plan | None:
    """The latest plan of a year up to `on`'s (a past date shows the plan then current), else the
    earliest; None without plans."""
    return next((p for p in plans if p.year <= on.year), plans[-1] if plans else None)


def choose(params, city_code: str, *, allow_all: bool = False) -> Choice:
    """The plan year (?year=, default the latest plan as of the date) and date (?asof=) a page
    shows; a year without a plan counts as not given."""
    plans, on = plans_of(city_code), as_of(params)
    wanted = (params.get("year") or "").strip()
    if allow_all and wanted == ALL:
        return Choice(plans=plans, plan=None, on=on, all_years=True)
    plan = next((p for p in plans if str(p.year) == wanted), None) or latest_on(plans, on)
    return Choice(plans=plans, plan=plan, on=on)
