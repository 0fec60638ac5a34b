from . import views

app_name = "compensation"

urlpatterns = [*views.urlpatterns]
