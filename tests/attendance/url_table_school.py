"""Who may reach the school's attendance pages (see tests/aftercare/test_url_permissions.py).

The day overview and the export pages act on the user's own school, so the principal of school B
reaches them too (with school B's rows). Pages of a session are 404 for outsiders (another school, a
parent, the district) and 403 for staff without the action."""

from . import setup


def _session(world):
    return {"pk": setup.prepared_session(world).pk}


URL_TABLE = {
    # The school's leaders and its inspectors see the whole day.
    "attendance:day-overview": ("get", None, {"principal", "admin", "inspector", "far_principal"}),
    # Cancelling: the principal and the administrators.
    "attendance:session-cancel": ("get", _session, {"principal", "admin"}),
    # The roll sheet of 3-1's basic care: its teacher (the homeroom teacher), inspectors and leaders.
    "attendance:roll-sheet": ("get", _session, {"homeroom", "inspector", "principal", "admin"}),
    "attendance:roll-sheet-pdf": ("post", _session, {"homeroom", "inspector", "principal", "admin"}),
    # Exports: every staff member who may export something (what they may pick is checked on start).
    "attendance:export-children": (
        "get",
        None,
        {
            "homeroom",
            "other_homeroom",
            "service_teacher",
            "provider",
            "inspector",
            "principal",
            "admin",
            "far_principal",
        },
    ),
    "attendance:export-teachers": ("post", None, {"principal", "admin", "inspector", "far_principal"}),
}
