"""Pages: offer."""

urlpatterns: list = []
