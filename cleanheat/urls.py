from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.i18n import set_language

from cleanheat.api import api
from cleanheat.ledger import views as ledger
from cleanheat.regions import views as regions

urlpatterns = [
    path("", regions.home, name="home"),
    path("regions/villages/", regions.village_picker, name="village_picker"),
    path("regions/<str:code>/", regions.region_page, name="region"),
    path("households/", ledger.household_list, name="households"),
    path("households/new/", ledger.household_create, name="household_create"),
    path("households/<str:household_no>/", ledger.household_detail, name="household"),
    path("households/<str:household_no>/edit/", ledger.household_edit, name="household_edit"),
    path("households/<str:household_no>/transition/", ledger.household_transition, name="household_transition"),
    path("households/<str:household_no>/archive/", ledger.household_archive, name="household_archive"),
    path("households/<str:household_no>/restore/", ledger.household_restore, name="household_restore"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
