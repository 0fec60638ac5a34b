"""Attendance pages, one module per side; each module lists its own ``urlpatterns``."""
