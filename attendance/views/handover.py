"""Attendance pages: handover."""

urlpatterns: list = []
