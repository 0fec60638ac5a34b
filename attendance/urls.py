from .views import cases, family, handover, school, supervision, today

app_name = "attendance"

urlpatterns = [
    *today.urlpatterns,
    *cases.urlpatterns,
    *family.urlpatterns,
    *handover.urlpatterns,
    *supervision.urlpatterns,
    *school.urlpatterns,
]
