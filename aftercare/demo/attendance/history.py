"""The demo school's service days: sessions prepared and held, roll-call and leave, absence cases,
hand-over, activity records and their ratings, teachers' attendance, inspections, and the term's
few serious events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta

from django.db.models import Q

from aftercare.models import Student
from attendance.models import (
    AbsenceCase,
    ActivityRecord,
    CaseStatus,
    ChildAttendance,
    EthicsBreach,
    HandOver,
    IncidentKind,
    Inspection,
    LeaveKind,
    LeaveRequest,
    Mark,
    RecordRating,
    Session,
    SessionStatus,
    TeacherAttendance,
    TeacherPresence,
)
from catalogue.models import Offering, OfferingKind, OfferingStatus
from catalogue.selectors import sessions_on
from enrollment.models import Enrollment

from .base import BATCH_SIZE, HistorySummary, Writer, at
from .texts import (
    BASIC_CARE_CONTENT,
    CANCEL_REASON,
    CASE_OUTCOMES,
    COURSE_CONTENT,
    EARLY_PICKUP_REASONS,
    ETHICS_BREACH,
    INSPECTION_FINDINGS,
    INSPECTION_IN_ORDER,
    LEAVE_REASONS,
    OUTDOOR_PLACE,
    SAFETY_INCIDENT,
    VOLUNTEER_RECORD_NOTE,
)

# How often, per child and service day.
LEAVE_STARTS = 0.012  # a day's leave (sometimes two or three days)
EARLY_PICKUP = 0.006
ABSENT_WITHOUT_LEAVE = 0.0012
LATE = 0.02

# Per session (records) and per teacher and session (teachers' attendance).
RECORD_MISSING = 0.04
RECORD_INCOMPLETE = 0.08
RECORD_UNRATED = 0.04
RECENT_DAYS_UNRATED = 2  # the inspector has not rated the last days' records yet
TEACHER_LATE = 0.015
TEACHER_ABSENT_EXCUSED = 0.004
INSPECTIONS_PER_DAY = 2
INSPECTION_FINDS_SOMETHING = 0.2


@dataclass
class _Child:
    """What the history needs of an enrolled child: who collects them."""

    student_id: int
    name: str
    homeroom_id: int | None
    guardians: list[tuple[int, str]]  # (guardian id, name)
    requested_by_id: int | None
    pickup_people: list[tuple[int, str]]
    may_go_home_alone: bool


@dataclass
class _Leave:
    kind: str
    pickup_at: time | None = None


class History:
    def __init__(self, rng, school, term, people, summary: HistorySummary) -> None:
        self.rng = rng
        self.school = school
        self.term = term
        self.people = people
        self.summary = summary
        self.days = summary.days
        self.writer = Writer()

    def run(self) -> None:
        self._load()
        sessions = self._prepare_sessions()
        self._leave_requests()
        special = self._special_days(sessions)
        last_days = set(self.days[-RECENT_DAYS_UNRATED:])
        for session in sessions:
            if session.status == SessionStatus.CANCELLED:
                continue
            self._roll_call(session, special)
            self._activity_record(session, special, session.date in last_days)
            self._teacher_attendance(session, special)
        self._inspections(sessions)
        self._ethics_breach(special)
        self.writer.flush()
        counts = self.writer.counts
        self.summary.sessions = len(sessions)
        self.summary.marks = counts[ChildAttendance]
        self.summary.hand_overs = counts[HandOver]
        self.summary.absence_cases = counts[AbsenceCase]
        self.summary.records = counts[ActivityRecord]
        self.summary.teacher_attendance = counts[TeacherAttendance]
        self.summary.inspections = counts[Inspection]

    # Loading ----------------------------------------------------------------------------------

    def _load(self) -> None:
        offerings = (
            Offering.objects.filter(term=self.term, status=OfferingStatus.PUBLISHED)
            .select_related("classroom")
            .prefetch_related("teachers", "provider_staff")
        )
        self.offerings = {o.pk: o for o in offerings}
        self.teachers = {
            o.pk: sorted(
                {t.pk for t in o.teachers.all()} | {s.user_id for s in o.provider_staff.all() if s.user_id}
            )
            for o in offerings
        }
        self.enrollments = defaultdict(list)  # offering id -> [(student id, joined_on, left_on)]
        for student_id, offering_id, joined_on, left_on in (
            Enrollment.objects.filter(term=self.term)
            .order_by("offering_id", "student__student_number", "student_id")
            .values_list("student_id", "offering_id", "joined_on", "left_on")
        ):
            self.enrollments[offering_id].append((student_id, joined_on, left_on))
        enrolled = {s for rows in self.enrollments.values() for s, _j, _l in rows}
        self.children: dict[int, _Child] = {}
        students = (
            Student.objects.filter(pk__in=enrolled)
            .select_related("classroom", "pickup_arrangement")
            .prefetch_related("guardians", "pickup_people")
            .order_by("pk")
        )
        for student in students:
            guardians = list(student.guardians.all())
            arrangement = getattr(student, "pickup_arrangement", None)
            self.children[student.pk] = _Child(
                student_id=student.pk,
                name=student.name,
                homeroom_id=student.classroom.homeroom_teacher_id,
                guardians=[(g.pk, g.name) for g in guardians] or [(None, "")],
                requested_by_id=next((g.user_id for g in guardians if g.user_id), None),
                pickup_people=[(p.pk, p.name) for p in student.pickup_people.all() if p.is_active],
                may_go_home_alone=bool(arrangement and arrangement.may_go_home_alone),
            )
        self.basic_care_of = {}  # student id -> basic care offering id
        for offering_id, rows in self.enrollments.items():
            if (
                self.offerings.get(offering_id)
                and self.offerings[offering_id].kind == OfferingKind.BASIC_CARE
            ):
                for student_id, _joined, _left in rows:
                    self.basic_care_of[student_id] = offering_id

    def _prepare_sessions(self) -> list[Session]:
        """The sessions of each day, as ``sessions_prepare`` would create them, with the roll taken;
        on one day the outdoor courses were cancelled for a storm warning."""
        planned = [p for day in self.days for p in sessions_on(day, school=self.school)]
        outdoor_days = sorted(
            {p.date for p in planned if p.offering.place == OUTDOOR_PLACE and p.offering.is_course}
        )
        storm_day = outdoor_days[len(outdoor_days) * 2 // 3] if len(outdoor_days) >= 5 else None
        sessions = []
        for p in planned:
            session = Session(
                school=self.school,
                term=self.term,
                offering=p.offering,
                date=p.date,
                starts_at=p.starts_at or time(16, 10),
                ends_at=p.ends_at or time(17, 30),
                place=p.place,
            )
            if p.date == storm_day and p.offering.is_course and p.offering.place == OUTDOOR_PLACE:
                session.status = SessionStatus.CANCELLED
                session.cancel_reason = CANCEL_REASON
                session.cancelled_by = self.people.admin
                session.cancelled_at = at(p.date, time(13, 30))
            else:
                session.roll_version = 1
                session.roll_taken_at = at(p.date, session.starts_at, self.rng.randint(4, 12))
                session.roll_taken_by_id = self._marker(session)
            sessions.append(session)
        return Session.objects.bulk_create(sessions, batch_size=BATCH_SIZE)

    def _marker(self, session) -> int:
        teachers = self.teachers.get(session.offering_id) or []
        return teachers[0] if teachers else self.people.admin.pk

    # Leave ------------------------------------------------------------------------------------

    def _leave_requests(self) -> None:
        """Each child's leave over the days: a day (or two or three) off, or an early pick-up."""
        self.leaves: dict[tuple[int, date], _Leave] = {}
        requests = []
        for student_id, child in self.children.items():
            index = 0
            while index < len(self.days):
                day = self.days[index]
                draw = self.rng.random()
                if draw < LEAVE_STARTS:
                    length = self.rng.choice((1, 1, 1, 1, 2, 3))
                    covered = self.days[index : index + length]
                    for each in covered:
                        self.leaves[student_id, each] = _Leave(LeaveKind.ABSENT)
                    requests.append(
                        LeaveRequest(
                            school=self.school,
                            student_id=student_id,
                            kind=LeaveKind.ABSENT,
                            starts_on=covered[0],
                            ends_on=covered[-1],
                            reason=self.rng.choice(LEAVE_REASONS),
                            requested_by_id=child.requested_by_id,
                            created_at=at(covered[0], time(7, 30), -self.rng.randint(0, 600)),
                        )
                    )
                    index += length
                    continue
                if draw < LEAVE_STARTS + EARLY_PICKUP:
                    pickup_at = time(16, self.rng.choice((30, 40, 45, 50)))
                    self.leaves[student_id, day] = _Leave(LeaveKind.EARLY_PICKUP, pickup_at)
                    requests.append(
                        LeaveRequest(
                            school=self.school,
                            student_id=student_id,
                            kind=LeaveKind.EARLY_PICKUP,
                            starts_on=day,
                            ends_on=day,
                            pickup_at=pickup_at,
                            reason=self.rng.choice(EARLY_PICKUP_REASONS),
                            requested_by_id=child.requested_by_id,
                            created_at=at(day, time(12), -self.rng.randint(0, 240)),
                        )
                    )
                index += 1
        asked_at = [request.created_at for request in requests]
        LeaveRequest.objects.bulk_create(requests, batch_size=BATCH_SIZE)
        # ``created_at`` is stamped on insert (auto_now_add); the history wants the day each was asked.
        for request, when in zip(requests, asked_at, strict=True):
            request.created_at = when
        LeaveRequest.objects.bulk_update(requests, ["created_at"], batch_size=BATCH_SIZE)
        self.summary.leave_requests = len(requests)

    def _special_days(self, sessions) -> dict:
        """The term's few serious events, each for one teacher: an unexcused absence, a safety
        incident and an ethics breach; and a late arrival of the demo teacher (so their pay
        drill-down shows a deduction)."""
        basic = [
            s
            for s in sessions
            if s.offering.kind == OfferingKind.BASIC_CARE
            and s.status == SessionStatus.PLANNED
            and self.teachers.get(s.offering_id)
        ]
        others = sorted(
            {self.teachers[s.offering_id][0] for s in basic} - {self.people.teacher.pk},
        )
        special: dict = {}
        if len(others) < 3 or not basic:
            return special
        absent_teacher, incident_teacher, ethics_teacher = self.rng.sample(others, 3)

        def a_session_of(teacher_id, fraction):
            mine = [s for s in basic if self.teachers[s.offering_id][0] == teacher_id]
            return mine[min(len(mine) - 1, int(len(mine) * fraction))].pk

        special["unexcused"] = {(a_session_of(absent_teacher, 0.4), absent_teacher)}
        # The office stood in for the absent teacher and took the roll.
        Session.objects.filter(pk__in=[pk for pk, _teacher in special["unexcused"]]).update(
            roll_taken_by=self.people.admin
        )
        special["incident"] = {(a_session_of(incident_teacher, 0.6), incident_teacher)}
        special["ethics"] = (ethics_teacher, self.days[len(self.days) // 2])
        demo_sessions = [s.pk for s in basic if self.teachers[s.offering_id][0] == self.people.teacher.pk]
        if demo_sessions:
            special["late"] = {(demo_sessions[len(demo_sessions) // 3], self.people.teacher.pk)}
        return special

    # Roll-call and hand-over ------------------------------------------------------------------

    def _roll_call(self, session, special) -> None:
        offering = self.offerings[session.offering_id]
        is_basic_care = offering.kind == OfferingKind.BASIC_CARE
        marker = session.roll_taken_by_id
        if any(pk == session.pk for pk, _teacher in special.get("unexcused", ())):
            marker = self.people.admin.pk
        for student_id, joined_on, left_on in self.enrollments.get(session.offering_id, ()):
            if joined_on > session.date or (left_on is not None and left_on <= session.date):
                continue
            child = self.children[student_id]
            leave = self.leaves.get((student_id, session.date))
            marked_at = session.roll_taken_at
            if leave is not None and leave.kind == LeaveKind.ABSENT:
                mark = Mark.LEAVE
            else:
                draw = self.rng.random()
                mark = (
                    Mark.ABSENT if draw < ABSENT_WITHOUT_LEAVE else Mark.LATE if draw < LATE else Mark.PRESENT
                )
            self.writer.add(
                ChildAttendance(
                    session=session,
                    student_id=student_id,
                    mark=mark,
                    marked_by_id=marker,
                    marked_at=marked_at,
                )
            )
            if mark == Mark.ABSENT:
                self._absence_case(session, child, marker)
                continue
            if mark == Mark.LEAVE:
                continue
            # Children of a course who are also in basic care are collected there.
            if is_basic_care or student_id not in self.basic_care_of:
                self._hand_over(session, child, leave, marker)

    def _absence_case(self, session, child: _Child, marker: int) -> None:
        outcome, note = self.rng.choice(CASE_OUTCOMES)
        opened = at(session.date, session.starts_at, self.rng.randint(10, 20))
        self.writer.add(
            AbsenceCase(
                school=self.school,
                session=session,
                student_id=child.student_id,
                status=CaseStatus.CLOSED,
                opened_at=opened,
                opened_by_id=marker,
                outcome=outcome,
                outcome_note=note,
                closed_at=opened + timedelta(minutes=self.rng.randint(8, 50)),
                closed_by_id=child.homeroom_id or self.people.admin.pk,
            )
        )

    def _hand_over(self, session, child: _Child, leave: _Leave | None, recorder: int) -> None:
        if leave is not None and leave.kind == LeaveKind.EARLY_PICKUP:
            guardian_id, name = child.guardians[0]
            self.writer.add(
                HandOver(
                    session=session,
                    student_id=child.student_id,
                    guardian_id=guardian_id,
                    collected_by_name=name,
                    handed_over_at=at(session.date, leave.pickup_at, self.rng.randint(-3, 6)),
                    recorded_by_id=recorder,
                )
            )
            return
        handed_over_at = at(session.date, session.ends_at, self.rng.randint(-15, 8))
        draw = self.rng.random()
        row = HandOver(
            session=session,
            student_id=child.student_id,
            handed_over_at=handed_over_at,
            recorded_by_id=recorder,
        )
        if child.may_go_home_alone and draw < 0.6:
            row.went_home_alone = True
        elif child.pickup_people and draw < 0.3:
            row.pickup_person_id, row.collected_by_name = child.pickup_people[0]
        else:
            row.guardian_id, row.collected_by_name = (
                child.guardians[1] if len(child.guardians) > 1 and draw > 0.7 else child.guardians[0]
            )
        self.writer.add(row)

    # Records, teachers, inspections -----------------------------------------------------------

    def _activity_record(self, session, special, recent: bool) -> None:
        offering = self.offerings[session.offering_id]
        unexcused = any(pk == session.pk for pk, _teacher in special.get("unexcused", ()))
        if unexcused or self.rng.random() < RECORD_MISSING:
            return
        teachers = self.teachers.get(session.offering_id)
        if offering.kind == OfferingKind.BASIC_CARE:
            content, progress = self.rng.choice(BASIC_CARE_CONTENT)
        else:
            content = self.rng.choice(
                COURSE_CONTENT.get(offering.name, [f"{offering.name}：分组练习与展示。"])
            )
            progress = ""
        written = at(session.date, session.ends_at, self.rng.randint(5, 120))
        record = ActivityRecord(
            session=session,
            content=content,
            homework_progress=progress,
            notes="" if teachers else VOLUNTEER_RECORD_NOTE,
            written_by_id=teachers[0] if teachers else self.people.admin.pk,
            written_at=written,
        )
        draw = self.rng.random()
        if not (recent and draw < 0.7) and draw >= RECORD_UNRATED:
            record.rating = (
                RecordRating.INCOMPLETE
                if draw < RECORD_UNRATED + RECORD_INCOMPLETE
                else RecordRating.COMPLETE
            )
            if record.rating == RecordRating.INCOMPLETE:
                record.rating_note = "作业辅导情况未填写完整。" if progress else "活动内容过于简略。"
            record.rated_by = self.rng.choice((self.people.inspector, self.people.admin))
            record.rated_at = at(session.date + timedelta(days=1), time(9), self.rng.randint(0, 300))
        self.writer.add(record)

    def _teacher_attendance(self, session, special) -> None:
        recorded = at(session.date, session.starts_at, self.rng.randint(10, 25))
        for teacher_id in self.teachers.get(session.offering_id, ()):
            key = (session.pk, teacher_id)
            row = TeacherAttendance(
                session=session,
                teacher_id=teacher_id,
                recorded_by=self.people.inspector,
                recorded_at=recorded,
            )
            draw = self.rng.random()
            if key in special.get("unexcused", ()):
                row.presence = TeacherPresence.ABSENT_UNEXCUSED
            elif key in special.get("incident", ()):
                row.incident = IncidentKind.SAFETY
                row.incident_description = SAFETY_INCIDENT
            elif key in special.get("late", ()) or draw < TEACHER_LATE:
                row.presence = TeacherPresence.LATE
                row.late_minutes = self.rng.randint(3, 15)
            elif draw < TEACHER_LATE + TEACHER_ABSENT_EXCUSED:
                row.presence = TeacherPresence.ABSENT_EXCUSED
            self.writer.add(row)

    def _inspections(self, sessions) -> None:
        """A duty leader's rounds: a couple of sessions a day, most in order."""
        by_day = defaultdict(list)
        for session in sessions:
            if session.status == SessionStatus.PLANNED:
                by_day[session.date].append(session)
        for day in self.days:
            for session in self.rng.sample(by_day[day], min(INSPECTIONS_PER_DAY, len(by_day[day]))):
                findings, description = [], self.rng.choice(INSPECTION_IN_ORDER)
                if self.rng.random() < INSPECTION_FINDS_SOMETHING:
                    findings, description = self.rng.choice(INSPECTION_FINDINGS)
                self.writer.add(
                    Inspection(
                        school=self.school,
                        session=session,
                        inspector=self.people.inspector,
                        inspected_at=at(day, session.starts_at, self.rng.randint(20, 70)),
                        findings=[str(f) for f in findings],
                        description=description,
                    )
                )

    def _ethics_breach(self, special) -> None:
        if "ethics" not in special:
            return
        teacher_id, day = special["ethics"]
        self.writer.add(
            EthicsBreach(
                school=self.school,
                term=self.term,
                teacher_id=teacher_id,
                date=day,
                description=ETHICS_BREACH,
                recorded_by=self.people.principal,
            )
        )


def leave_for_the_teachers_class(school, day: date) -> None:
    """On the next service day (today if it is one) class 3-1's sheet shows a leave and an early
    pick-up asked by the families, so the roll-call page has something to show."""
    basic_care = Offering.objects.filter(
        term__school=school, kind=OfferingKind.BASIC_CARE, classroom__grade=3, classroom__number=1
    ).first()
    if basic_care is None:
        return
    enrolled = list(
        Enrollment.objects.filter(
            Q(left_on__isnull=True) | Q(left_on__gt=day), offering=basic_care, joined_on__lte=day
        )
        .select_related("student")
        .order_by("student__student_number")[:2]
    )
    if len(enrolled) < 2:
        return
    reasons = iter(["发烧，在家休息。", "参加钢琴考级。"])
    rows = []
    for enrollment, kind in zip(enrolled, (LeaveKind.ABSENT, LeaveKind.EARLY_PICKUP), strict=True):
        guardian = enrollment.student.guardians.filter(user__isnull=False).order_by("pk").first()
        rows.append(
            LeaveRequest(
                school=school,
                student=enrollment.student,
                kind=kind,
                starts_on=day,
                ends_on=day,
                pickup_at=time(16, 45) if kind == LeaveKind.EARLY_PICKUP else None,
                reason=next(reasons),
                requested_by=guardian.user if guardian else None,
            )
        )
    LeaveRequest.objects.bulk_create(rows)
