"""Pages: providers."""

urlpatterns: list = []
