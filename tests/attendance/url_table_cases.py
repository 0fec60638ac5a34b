"""Who may reach the follow-up cases (see tests/aftercare/test_url_permissions.py). The case is
张小明's, marked absent without leave in setup.TODAY's basic care of 3-1."""

from attendance.alerts import absence_cases_open

from . import setup


def _case(world):
    session = setup.prepared_session(world)
    (case,) = absence_cases_open(actor=world.users["homeroom"], session=session, student_ids=[world.child.pk])
    return {"pk": case.pk}


URL_TABLE = {
    # The acting school's leaders and inspectors, and homeroom teachers (their own classes' cases).
    "attendance:case-list": (
        "get",
        None,
        {"homeroom", "other_homeroom", "inspector", "principal", "admin", "far_principal"},
    ),
    # One case: the school's leaders and inspectors, the child's homeroom teacher (who also teaches
    # the session), and the child's guardian (read-only). Other parents 404.
    "attendance:case-detail": ("get", _case, {"parent", "homeroom", "inspector", "principal", "admin"}),
}
