"""Pages: offerings."""

urlpatterns: list = []
