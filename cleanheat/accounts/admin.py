from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "region_scope", "is_active", "is_staff")
    fieldsets = BaseUserAdmin.fieldsets + (("清洁取暖", {"fields": ("full_name", "region_scope")}),)
