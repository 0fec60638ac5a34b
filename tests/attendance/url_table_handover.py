"""Who may reach the hand-over pages (see tests/aftercare/test_url_permissions.py). The session is
today's basic care of 3-1, led by its homeroom teacher."""

from django.utils import timezone

from attendance.handover import hand_over_record
from attendance.models import ChildAttendance, Mark

from . import setup


def _session(world):
    return {"pk": setup.prepared_session(world).pk}


def _hand_over(world):
    session = setup.prepared_session(world)
    ChildAttendance.objects.create(
        session=session,
        student=world.child,
        mark=Mark.PRESENT,
        marked_by=world.users["homeroom"],
        marked_at=timezone.now(),
    )
    guardian = world.child.guardians.get(name="张爸爸")
    record = hand_over_record(
        actor=world.users["homeroom"], session=session, student=world.child, guardian=guardian
    )
    # The session's day is setup.TODAY; the undo is allowed on that day only, whatever today is.
    record.session.date = timezone.localdate()
    record.session.save(update_fields=["date"])
    return {"pk": record.pk}


URL_TABLE = {
    # Viewing: the session's teacher (3-1's homeroom teacher), inspectors and the school's leaders.
    "attendance:hand-over": ("get", _session, {"homeroom", "inspector", "principal", "admin"}),
    # Undoing (teach): the session's teacher and the administrators. The first allowed persona's POST
    # takes the record back, so later personas find nothing (404): the administrator's undo is
    # checked in test_views_handover.py.
    "attendance:hand-over-undo": ("post", _hand_over, {"homeroom"}),
}
