from .views import family, review, school

app_name = "enrollment"

urlpatterns = [*family.urlpatterns, *review.urlpatterns, *school.urlpatterns]
