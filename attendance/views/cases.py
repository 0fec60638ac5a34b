"""Attendance pages: cases."""

urlpatterns: list = []
