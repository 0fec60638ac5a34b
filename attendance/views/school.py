"""Attendance pages: school."""

urlpatterns: list = []
