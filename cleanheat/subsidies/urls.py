from django.urls import path

from . import check_views, views
from . import declaration_views as declarations
from . import notice_views as notices
from . import payment_views as pay

urlpatterns = [
    path("", views.home, name="subsidies"),
    path("compute/", views.compute, name="subsidies_compute"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/template.xlsx", views.policy_template, name="policy_template"),
    path("policies/import/", views.policy_import, name="policy_import"),
    path("policies/<int:policy_id>/", views.policy_page, name="policy"),
    path("policies/<int:policy_id>/edit/", views.policy_edit, name="policy_edit"),
    path("policies/<int:policy_id>/export.xlsx", views.policy_export, name="policy_export"),
    path("readings/", views.readings_page, name="readings"),
    path("readings/template.xlsx", views.readings_template, name="readings_template"),
    path("households/<str:household_no>/readings/", views.household_reading, name="household_reading"),
    path("declarations/", declarations.queue, name="declarations"),
    path("declarations/villages/<str:village_code>/", declarations.village, name="declaration_village"),
    path("declarations/new/<str:household_no>/", declarations.declare, name="declaration_new"),
    path("declarations/<int:declaration_id>/", declarations.page, name="declaration"),
    path("declarations/<int:declaration_id>/edit/", declarations.edit, name="declaration_edit"),
    path("declarations/<int:declaration_id>/act/", declarations.act, name="declaration_act"),
    path("funds/", pay.funds_page, name="funds"),
    path("batches/", pay.batches, name="payment_batches"),
    path("batches/new/", pay.batch_create, name="payment_batch_create"),
    path("batches/<int:batch_id>/", pay.batch_page, name="payment_batch"),
    path("batches/<int:batch_id>/bank-file/", pay.bank_file, name="payment_bank_file"),
    path("batches/<int:batch_id>/return/", pay.bank_return, name="payment_return"),
    path("batches/<int:batch_id>/cancel/", pay.batch_cancel, name="payment_batch_cancel"),
    path("payments/<int:payment_id>/recover/", pay.line_recover, name="payment_recover"),
    path("clearing/", pay.clearing_page, name="clearing"),
    path("clearing/export.xlsx", pay.clearing_export, name="clearing_export"),
    path("declarations/attachments/<int:attachment_id>/", declarations.attachment, name="declaration_attachment"),
    path("notices/", notices.notices, name="notices"),
    path("notices/villages/<str:village_code>/", notices.village, name="notice_village"),
    path("notices/<int:subsidy_notice_id>/print/", notices.printable, name="notice_print"),
    path("notices/<int:subsidy_notice_id>/notice.pdf", notices.pdf, name="notice_pdf"),
    path("notices/lines/<int:notice_line_id>/objections/", notices.objection_create, name="objection_create"),
    path("notices/objections/<int:objection_id>/decide/", notices.objection_decide, name="objection_decide"),
    path("checks/<str:code>/", check_views.payment_problems, name="payment_problems"),
    path("parity/", check_views.cost_parity, name="cost_parity"),
    path("parity/<str:code>/", check_views.cost_parity, name="cost_parity_region"),
]
