from django.contrib import admin

from .models import Household


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    """Read-only here: every change must go through ledger.services (validation and history)."""

    list_display = ("household_no", "householder_name", "village", "heating_path", "state", "archived")
    list_filter = ("heating_path", "state", "archived")
    search_fields = ("household_no", "householder_name")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
