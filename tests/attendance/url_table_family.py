"""Who may reach the family pages and the school's list of leave (see tests/aftercare/test_url_permissions.py).

Every family page is about the user's own children: another family's child, a member of staff or
another school is answered 404 (no ids leak). The list of leave acts on the user's own school, so the
principal of school B reaches it too (with school B's rows)."""

from django.utils import timezone

from attendance.models import LeaveKind, LeaveRequest


def _child(world):
    return {"student_pk": world.child.pk}


def _leave(world):
    # Stored as is: these tables run on the real today, which the service's date rules depend on.
    today = timezone.localdate()
    leave = LeaveRequest.objects.create(
        school=world.school,
        student=world.child,
        kind=LeaveKind.ABSENT,
        starts_on=today,
        ends_on=today,
        reason="看牙医",
        requested_by=world.users["parent"],
    )
    return {"pk": leave.pk}


URL_TABLE = {
    # Every guardian reaches their own page (the committee chair is 陈小华's parent).
    "attendance:family-home": ("get", None, {"parent", "other_parent", "far_parent", "committee"}),
    # 张小明's guardian only.
    "attendance:leave-create": ("get", _child, {"parent"}),
    "attendance:pickup-edit": ("get", _child, {"parent"}),
    "attendance:leave-cancel": ("post", _leave, {"parent"}),
    # Teachers see their classes' and offerings' children, leaders and inspectors the school.
    "attendance:leave-list": (
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
}
