from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.i18n import set_language

from cleanheat.accounts import views as accounts
from cleanheat.api import api
from cleanheat.audit import views as audit
from cleanheat.health import healthz
from cleanheat.helpdocs import views as helpdocs
from cleanheat.imports import views as imports
from cleanheat.ledger import region_views
from cleanheat.ledger import views as ledger
from cleanheat.metrics import metrics
from cleanheat.overview import views as overview
from cleanheat.plan import views as plan
from cleanheat.procurement import views as procurement
from cleanheat.rules import views as rules


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (downloads, the API's JSON)."""
    return redirect(static("img/favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("", overview.home, name="home"),
    path("regions/villages/", overview.village_picker, name="village_picker"),
    path("regions/places/", overview.place_search, name="place_search"),
    path("regions/changes/", region_views.change_list, name="region_changes"),
    path("regions/changes/<int:change_id>/", region_views.change_page, name="region_change"),
    path("regions/changes/<int:change_id>/apply/", region_views.change_apply, name="region_change_apply"),
    path("regions/<str:code>/", overview.region_page, name="region"),
    path("regions/<str:code>/figures/", overview.region_figures, name="region_figures"),
    path("progress/<str:code>/", plan.progress_page, name="progress"),
    path("progress/<str:code>/export.xlsx", plan.export_progress, name="export_progress"),
    path("progress/<str:code>/dispatch-table.xlsx", plan.export_dispatch_table, name="export_dispatch_table"),
    path("compliance/", rules.compliance_page, name="compliance_home"),
    path("registers/", rules.registers_page, name="registers"),
    path("compliance/<str:code>/", rules.compliance_page, name="compliance"),
    path("compliance/<str:code>/results/", rules.compliance_results, name="compliance_results"),
    path("compliance/<str:code>/export.xlsx", rules.compliance_export, name="compliance_export"),
    path("plan/", plan.plan_page, name="plan"),
    path("plan/schedule/<str:county_code>/", plan.schedule_page, name="schedule"),
    path("plan/townships/<str:county_code>/", plan.township_targets_page, name="township_targets"),
    path("dispatch/", plan.dispatch_page, name="dispatch"),
    path("dispatch/<int:report_id>/", plan.dispatch_report, name="dispatch_report"),
    path("dashboard/", plan.dashboard_page, name="dashboard_home"),
    path("dashboard/<str:code>/", plan.dashboard_page, name="dashboard"),
    path("households/", ledger.household_list, name="households"),
    path("households/export/", imports.export_households, name="export_households"),
    path("households/new/", ledger.household_create, name="household_create"),
    path("households/batch/", ledger.household_batch, name="household_batch"),
    path("households/<str:household_no>/", ledger.household_detail, name="household"),
    path("households/<str:household_no>/edit/", ledger.household_edit, name="household_edit"),
    path("households/<str:household_no>/record/", ledger.household_record, name="household_record"),
    path("households/<str:household_no>/transition/", ledger.household_transition, name="household_transition"),
    path("households/<str:household_no>/archive/", ledger.household_archive, name="household_archive"),
    path("households/<str:household_no>/restore/", ledger.household_restore, name="household_restore"),
    path("households/<str:household_no>/outage/", ledger.household_outage, name="household_outage"),
    path("households/<str:household_no>/reveal/", ledger.household_reveal, name="household_reveal"),
    path("households/<str:household_no>/advice/", procurement.advice_page, name="advice"),
    path("households/<str:household_no>/advice/print/", procurement.advice_print, name="advice_print"),
    path("households/<str:household_no>/allocate/", procurement.allocate, name="allocate"),
    path("households/<str:household_no>/allocations/<int:allocation_id>/release/", procurement.release,
         name="release_allocation"),
    path("procurement/catalog/", procurement.catalog_page, name="catalog"),
    path("procurement/catalog/template.xlsx", procurement.catalog_template, name="catalog_template"),
    path("procurement/catalog/<int:model_id>/edit/", procurement.catalog_model_edit, name="catalog_model_edit"),
    path("procurement/contracts/", procurement.contract_list, name="contracts"),
    path("procurement/contracts/new/", procurement.contract_create, name="contract_create"),
    path("procurement/contracts/<int:contract_id>/", procurement.contract_page, name="contract"),
    path("procurement/sizing/", procurement.sizing_page, name="sizing"),
    path("imports/", imports.import_page, name="imports"),
    path("imports/template.xlsx", imports.template_download, name="import_template"),
    path("jobs/<uuid:job_id>/", imports.job_page, name="job"),
    path("jobs/<uuid:job_id>/progress/", imports.job_progress, name="job_progress"),
    path("jobs/<uuid:job_id>/commit/", imports.job_commit, name="job_commit"),
    path("jobs/<uuid:job_id>/defaults/", imports.job_defaults, name="job_defaults"),
    path("jobs/<uuid:job_id>/<str:what>.xlsx", imports.job_download, name="job_download"),
    path("regions/<str:code>/export/", imports.export_rollup, name="export_rollup"),
    path("accounts/login/", accounts.login_view, name="login"),
    path("accounts/logout/", accounts.logout_view, name="logout"),
    path("accounts/password/", accounts.password_change_view, name="password_change"),
    path("accounts/users/", accounts.user_list, name="users"),
    path("accounts/users/new/", accounts.user_create, name="user_create"),
    path("accounts/users/<int:user_id>/", accounts.user_edit, name="user_edit"),
    path("accounts/users/<int:user_id>/reset-password/", accounts.user_reset_password, name="user_reset_password"),
    path("accounts/users/<int:user_id>/unlock/", accounts.user_unlock, name="user_unlock"),
    path("accounts/login-pauses/<int:throttle_id>/lift/", accounts.throttle_lift, name="throttle_lift"),
    path("accounts/users/<int:user_id>/tokens/", accounts.user_tokens, name="user_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.token_revoke, name="token_revoke"),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("audit/duplicates/", audit.duplicate_list, name="audit_duplicates"),
    path("subsidies/", include("cleanheat.subsidies.urls")),
    path("reports/", include("cleanheat.reports.urls")),
    path("help/", helpdocs.help_page, name="help_index"),
    path("help/<slug:slug>/", helpdocs.help_page, name="help_page"),
    path("desk/", include("cleanheat.desk.urls")),
    path("inspections/", include("cleanheat.inspections.urls")),
    path("service/", include("cleanheat.service.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

handler403 = "cleanheat.audit.views.permission_denied"
handler400 = "cleanheat.errors.bad_request"
handler404 = "cleanheat.errors.page_not_found"
handler500 = "cleanheat.errors.server_error"
