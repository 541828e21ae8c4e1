"""Plan years of the ledger: each household belongs to the yearly plan of its conversion.

The plans themselves live in the plan app, above the ledger; the ledger only reads which years
have a plan (through the app registry, not an import), to default and check a household's year."""
from django.apps import apps
from django.utils import timezone


def plan_years() -> list[int]:
    """The years that have a plan (any city), oldest first."""
    plan = apps.get_model("plan", "Plan")
    return sorted(set(plan.objects.values_list("year", flat=True)))


def default_plan_year() -> int:
    """The latest plan's year (a new household joins the current plan), or this year without one."""
    years = plan_years()
    return years[-1] if years else timezone.localdate().year
