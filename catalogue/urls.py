from django.urls import path

from .views import calendar, offer, offerings, providers

app_name = "catalogue"

urlpatterns = [
    *calendar.urlpatterns,
    *offerings.urlpatterns,
    *providers.urlpatterns,
    *offer.urlpatterns,
]

del path
