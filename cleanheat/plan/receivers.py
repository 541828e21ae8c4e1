"""The plan hears of region changes (regions.signals) and keeps township targets on the new map."""
from django.dispatch import receiver

from cleanheat.regions.models import RegionChange
from cleanheat.regions.signals import region_change_applied

from . import services


@receiver(region_change_applied, sender=RegionChange)
def carry_targets(sender, *, change, result, user=None, **kwargs):
    reason = f"区划调整（{change.get_kind_display()}，{change.effective_on}起）{change.note}"
    services.carry_township_targets(result.retire, user=user, reason=reason)
