from django.urls import path

from . import notices, views

urlpatterns = [
    path("", views.home, name="reports"),
    path("generate/", views.generate, name="report_generate"),
    path("files/<int:report_id>/", views.download, name="report_download"),
    path("files/<int:report_id>/page/", views.report_page, name="report_page"),
    path("files/<int:report_id>/report.pdf", views.download_pdf, name="report_pdf"),
    path("files/<int:report_id>/submit/", views.report_action, {"action": "submit"}, name="report_submit"),
    path("files/<int:report_id>/return/", views.report_action, {"action": "return"}, name="report_return"),
    path("templates/upload/", views.upload_template, name="report_template_upload"),
    path("templates/<slug:code>.xlsx", views.template_download, name="report_template"),
    path("emissions/", views.emissions_page, name="emissions_home"),
    path("emissions/<str:code>/", views.emissions_page, name="emissions"),
    path("calibration/", views.calibration_page, name="calibration_home"),
    path("calibration/<str:code>/", views.calibration_page, name="calibration"),
    path("coal-ban/", views.coal_ban_page, name="coal_ban_home"),
    path("coal-ban/<str:code>/", views.coal_ban_page, name="coal_ban"),
    path("retrofit/", views.retrofit_page, name="retrofit_home"),
    path("retrofit/<str:code>/", views.retrofit_page, name="retrofit"),
    path("notices/<str:village_code>/", notices.roster, name="resident_roster"),
    path("notices/<str:village_code>/roster.pdf", notices.roster_pdf, name="resident_roster_pdf"),
    path("notices/<str:village_code>/letters/", notices.letters, name="resident_letters"),
    path("notices/<str:village_code>/letters.pdf", notices.letters_pdf, name="resident_letters_pdf"),
    path("panel/<str:code>/", views.dashboard_panel, name="reports_panel"),
]
