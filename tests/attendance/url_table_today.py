"""Who may reach today's page and the roll-call (see tests/aftercare/test_url_permissions.py).

The session is setup.TODAY's basic care of 3-1, led by its homeroom teacher. The table GETs the
roll-call; who may save it (teach) is checked in test_views_today.py."""

from . import setup


def _session(world):
    return {"pk": setup.prepared_session(world).pk}


URL_TABLE = {
    # Anyone who teaches at the acting school, and its administrators (each sees their own sessions).
    "attendance:today": ("get", None, {"homeroom", "other_homeroom", "service_teacher", "provider", "admin"}),
    # Viewing a session's roll-call: its teacher (3-1's homeroom teacher), inspectors and the school's
    # leaders; other teachers 403; parents, school B and the district 404.
    "attendance:roll-call": ("get", _session, {"homeroom", "inspector", "principal", "admin"}),
}
