"""Pages: school."""

urlpatterns: list = []
