from django.urls import path

from . import dashboard_views, views

urlpatterns = [
    path("", views.ticket_list, name="service"),
    path("new/", views.ticket_new, name="service_new"),
    path("mine/", views.my_tickets, name="service_mine"),
    path("tickets/<int:ticket_id>/", views.ticket_page, name="service_ticket"),
    path("tickets/<int:ticket_id>/act/", views.ticket_act, name="service_act"),
    path("tickets/<int:ticket_id>/photos/", views.ticket_photo_upload, name="service_photos"),
    path("tickets/<int:ticket_id>/call/", views.ticket_call, name="service_call"),
    path("photos/<int:photo_id>/", views.ticket_photo, name="service_photo"),
    path("dashboard/", dashboard_views.dashboard_page, name="service_dashboard"),
    path("dashboard/export.xlsx", dashboard_views.export, name="service_export"),
    path("dashboard/map.json", dashboard_views.map_data, name="service_map_data"),
]
