"""Re-coded villages (区划调整, regions.signals): coal-ban markings follow them."""
from django.dispatch import receiver

from cleanheat.regions.models import RegionChange
from cleanheat.regions.signals import region_change_applied

from . import services


@receiver(region_change_applied, sender=RegionChange)
def follow_villages(sender, *, result, **kwargs):
    services.follow_village_codes(result.villages)
