"""Attendance pages: supervision."""

urlpatterns: list = []
