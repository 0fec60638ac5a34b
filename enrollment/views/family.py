"""Pages: family."""

urlpatterns: list = []
