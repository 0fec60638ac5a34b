"""Attendance pages: family."""

urlpatterns: list = []
