"""Attendance pages: today."""

urlpatterns: list = []
