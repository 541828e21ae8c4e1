"""What other apps hear of the regions (the regions app imports no other app, so it tells them)."""
from django.dispatch import Signal

# Sent by services.apply_regions inside the change's transaction, with change=, result= (the applied
# services.Plan: villages re-coded, regions retired with their successors) and user=.
region_change_applied = Signal()
