from django.urls import path

from . import import_views

app_name = "roster"

urlpatterns = [
    path("", import_views.import_upload, name="import-upload"),
    path("template/", import_views.import_template, name="import-template"),
    path("<int:pk>/", import_views.import_detail, name="import-detail"),
    path("<int:pk>/confirm/", import_views.import_confirm, name="import-confirm"),
]
