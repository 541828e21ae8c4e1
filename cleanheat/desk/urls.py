from django.urls import path

from . import views

urlpatterns = [
    path("notices/", views.notice_list, name="notices"),
    path("notices/new/", views.notice_create, name="notice_create"),
    path("notices/<int:notice_id>/", views.notice_page, name="notice"),
    path("notices/<int:notice_id>/attachment/", views.notice_attachment, name="notice_attachment"),
    path("remind/", views.remind, name="desk_remind"),
    path("jobs/<uuid:job_id>/", views.open_job, name="desk_open_job"),
    path("compliance/", views.open_breaches, name="desk_open_breaches"),
]
