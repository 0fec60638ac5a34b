"""Rows of the URL × role matrix (tests/aftercare/test_url_permissions.py) for catalogue/views/calendar.py."""


def _term(world):
    return {"pk": world.school.terms.get().pk}


URL_TABLE = {
    # The active school's terms: its leaders; school B's principal sees school B's.
    "catalogue:term-list": ("get", None, {"principal", "admin", "far_principal"}),
    "catalogue:term-create": ("get", None, {"admin"}),
    # Changing a term's calendar, time bands and fee standard: school A's administrators only.
    "catalogue:calendar-edit": ("get", _term, {"admin"}),
    "catalogue:fee-standard-edit": ("get", _term, {"admin"}),
    # The district's caps and pay band: its officers only.
    "catalogue:district-policy-edit": ("get", None, {"district"}),
}
