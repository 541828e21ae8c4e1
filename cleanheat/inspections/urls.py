from django.urls import path

from . import checklist_views, field_views, round_views, views
from .coordinate_views import coordinates_page

urlpatterns = [
    path("acceptance/", views.acceptance_list, name="acceptance_list"),
    path("acceptance/<str:number>/", views.acceptance_record, name="acceptance_record"),
    path("households/<str:household_no>/acceptance/", views.acceptance_form, name="acceptance_form"),
    path("files/<int:evidence_id>/", views.evidence_file, name="evidence_file"),
    path("files/<int:evidence_id>/original/", views.evidence_original, name="evidence_original"),
]

urlpatterns += [
    path("rounds/", round_views.round_list, name="inspection_rounds"),
    path("rounds/new/", round_views.round_create, name="inspection_round_create"),
    path("rounds/<int:round_id>/", round_views.round_page, name="inspection_round"),
    path("rounds/<int:round_id>/redraw/", round_views.round_redraw, name="inspection_round_redraw"),
    path("approvals/", round_views.approvals_page, name="approvals"),
    path("approvals/act/", round_views.approval_act, name="approval_act"),
    path("findings/", round_views.finding_dashboard, name="findings"),
    path("findings/notice.xlsx", round_views.finding_notice, name="findings_notice"),
    path("findings/<int:finding_id>/", round_views.finding_page, name="finding"),
    path("findings/<int:finding_id>/rectify/", round_views.finding_rectify, name="finding_rectify"),
    path("findings/<int:finding_id>/close/", round_views.finding_close, name="finding_close"),
    path("findings/<int:finding_id>/reopen/", round_views.finding_reopen, name="finding_reopen"),
]

urlpatterns += [
    path("field/", field_views.field_home, name="field_home"),
    path("field/sw.js", field_views.field_worker, name="field_worker"),
    path("field/<int:sample_id>/", field_views.field_visit, name="field_visit"),
]

urlpatterns += [
    path("coordinates/", coordinates_page, name="village_coordinates"),
    path("checklists/", checklist_views.checklist_index, name="checklists"),
    path("checklists/<str:path>/<str:kind>/", checklist_views.checklist_edit, name="checklist_edit"),
]
