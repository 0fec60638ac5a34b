"""The attendance tests' world, as plain functions: the fixtures in conftest.py and the URL
permission tables (which run without a frozen today) build on them."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from attendance.family import pickup_person_add
from attendance.models import ChildAttendance, Mark, Session
from attendance.sessions import sessions_prepare
from catalogue import services as catalogue
from catalogue.models import Domain, FeeMode, OfferingKind
from enrollment import services as enrollment
from enrollment.models import Enrollment
from tests.factories import GuardianFactory, StudentFactory

TODAY = date(2026, 10, 12)  # a Monday, a service day of school A's autumn term


def published_term(world):
    term = world.school.terms.get()
    admin = world.users["admin"]
    catalogue.term_setup_defaults(actor=admin, term=term)
    for offering in catalogue.basic_care_create_for_all_classes(
        actor=admin, term=term, fee_mode=FeeMode.PER_TERM, fee_amount=Decimal("300.00"), capacity=60
    ):
        catalogue.offering_publish(actor=admin, offering=offering)
    return term


def football(world, term):
    offering = catalogue.offering_create(
        actor=world.users["admin"],
        term=term,
        kind=OfferingKind.COURSE,
        name="足球",
        domain=Domain.PHYSICAL,
        grades=[3],
        capacity=30,
        weekdays=[0],
        place="操场",
        fee_mode=FeeMode.FREE,
        teachers=[world.users["service_teacher"]],
    )
    return catalogue.offering_publish(actor=world.users["admin"], offering=offering)


def enroll(world, student, offerings, *, guardian=None):
    """A child enrolled through the real path: the guardian applies, the homeroom teacher and the
    principal approve."""
    term = offerings[0].term
    basic = [o for o in offerings if o.kind == OfferingKind.BASIC_CARE]
    courses = [o.pk for o in offerings if o.kind == OfferingKind.COURSE]
    application = enrollment.application_submit(
        actor=guardian or world.users["admin"],
        student=student,
        term=term,
        wants_basic_care=bool(basic),
        course_ids=courses,
    )
    enrollment.application_class_approve(actor=student.classroom.homeroom_teacher, application=application)
    enrollment.applications_approve(actor=world.users["principal"], applications=[application])
    return application


def enroll_world(world, term, basic_care, football_course):
    """张小明 in basic care and football; 陈小华 in basic care; 李小红 in 3-2's basic care. Joined
    from the first day of term, whatever today is."""
    committee_child = world.classroom.students.get(name="陈小华")
    enroll(world, world.child, [basic_care, football_course], guardian=world.users["parent"])
    enroll(world, committee_child, [basic_care], guardian=world.users["committee"])
    enroll(world, world.other_child, [term.offerings.get(classroom=world.other_classroom)])
    Enrollment.objects.filter(term=term).update(joined_on=term.starts_on)


def prepared_session(world, *, course: bool = False) -> Session:
    """For the URL tables: the world enrolled and TODAY's sessions prepared; 3-1's basic care (or
    football)."""
    term = published_term(world)
    basic_care = term.offerings.get(classroom=world.classroom)
    football_course = football(world, term)
    enroll_world(world, term, basic_care, football_course)
    sessions_prepare(school=world.school, day=TODAY)
    return Session.objects.get(offering=football_course if course else basic_care, date=TODAY)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day=TODAY) -> datetime:
    """An aware moment of a school day, for passing as ``now`` or freezing time."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def grow_class(world, session, size: int) -> None:
    """Enroll children into 3-1's basic care until it has ``size``, each with a guardian and an
    authorised person, all marked present."""
    for n in range(size - len(session.offering.enrollments.all())):
        child = StudentFactory(classroom=world.classroom, name=f"学生{n:02d}")
        GuardianFactory(student=child, name=f"家长{n:02d}")
        enroll(world, child, [session.offering])
        pickup_person_add(
            actor=world.users["admin"],
            student=child,
            name=f"接送{n:02d}",
            relation="外婆",
            phone=f"1360000{n:04d}",
        )
        ChildAttendance.objects.create(
            session=session, student=child, mark=Mark.PRESENT, marked_at=at(16, 15)
        )
