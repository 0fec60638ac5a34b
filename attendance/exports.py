"""Excel exports of attendance, fed by attendance.selectors: the children's marks per offering and the
teachers' attendance over a term.

Workbooks are write-only and the rows are streamed from the database in chunks, so a whole school's
term (hundreds of children, ninety days) costs the memory of one offering's rows at a time. Every
string goes through aftercare.spreadsheets, so a child named "=1+1" stays text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from aftercare.models import Classroom, School, Term
from aftercare.spreadsheets import new_workbook, workbook_bytes, write_row
from catalogue.calendar_rules import WEEKDAY_NAMES
from catalogue.models import Offering

from . import selectors
from .models import Mark, RecordRating, TeacherPresence

CHUNK_SIZE = 2000
SESSION_CHUNK_SIZE = 500

Progress = Callable[[int, str], None]


# Sheets ----------------------------------------------------------------------------------------

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_TITLE = 31  # Excel's limit


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title for ``name`` (Excel forbids []:*?/\\ and more than 31 characters)."""
    base = _SHEET_TITLE_FORBIDDEN.sub("_", name).strip("'") or "-"
    title = base[:MAX_SHEET_TITLE]
    for number in itertools.count(2):
        if title.lower() not in taken:
            break
        suffix = f" ({number})"
        title = base[: MAX_SHEET_TITLE - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _grouped(rows: Iterable[tuple]) -> Iterator[tuple[int, list[tuple]]]:
    for offering_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        yield offering_id, list(group)


def _next_group(groups: Iterator, pending: list, offering_id: int) -> list[tuple]:
    """The group of ``offering_id`` from a stream sorted by offering id; ``pending`` holds the one
    read ahead."""
    if not pending:
        pending.append(next(groups, None))
    head = pending[0]
    if head is None or head[0] != offering_id:
        return []
    pending.clear()
    return head[1]


def _silent(percent: int, message: str) -> None:
    pass


# Children's attendance ----------------------------------------------------------------------------


@dataclass
class _ChildRow:
    classroom: str
    student_number: str
    name: str
    marks: dict[date, str]


def children_attendance_workbook(
    *,
    term: Term,
    date_from: date,
    date_to: date,
    classroom: Classroom | None = None,
    offering: Offering | None = None,
    progress: Progress | None = None,
) -> bytes:
    """A sheet per offering of the scope (a class, an offering, or the whole term's school): a row per
    child and a column per session held in the range (出/迟/假/缺, blank when not marked), then the
    child's totals. A class's sheets hold only its own children."""
    progress = progress or _silent
    offerings = selectors.export_offerings(
        term, classroom=classroom, offering=offering, date_from=date_from, date_to=date_to
    )
    offering_ids = sorted(o.pk for o in offerings)
    dates: dict[int, list[date]] = {pk: [] for pk in offering_ids}
    for offering_id, day in selectors.export_session_dates(
        offering_ids, date_from=date_from, date_to=date_to
    ):
        dates[offering_id].append(day)

    workbook = new_workbook(write_only=True)
    sheets = {}
    titles: set[str] = set()
    for item in offerings:
        sheet = workbook.create_sheet(sheet_title(item.name, titles))
        sheet.freeze_panes = "D2"
        write_row(
            sheet,
            [
                _("班级"),
                _("学号"),
                _("姓名"),
                *(f"{day:%m-%d}" for day in dates[item.pk]),
                _("出勤"),
                _("迟到"),
                _("请假"),
                _("缺勤"),
            ],
        )
        sheets[item.pk] = sheet
    if not offerings:
        write_row(workbook.create_sheet(_("考勤")), [_("所选范围内没有课后服务项目。")])

    letters = {mark: str(letter) for mark, letter in selectors.MARK_LETTERS.items()}
    classroom_names: dict[tuple[int, int], str] = {}

    def classroom_name(grade: int, number: int) -> str:
        if (grade, number) not in classroom_names:
            classroom_names[(grade, number)] = Classroom(grade=grade, number=number).name
        return classroom_names[(grade, number)]

    enrollment_groups = _grouped(
        selectors.export_enrollments(
            offering_ids, date_from=date_from, date_to=date_to, classroom=classroom
        ).iterator(chunk_size=CHUNK_SIZE)
    )
    mark_groups = _grouped(
        selectors.export_marks(
            offering_ids, date_from=date_from, date_to=date_to, classroom=classroom
        ).iterator(chunk_size=CHUNK_SIZE)
    )
    pending_enrollments: list = []
    pending_marks: list = []
    for position, offering_id in enumerate(offering_ids, start=1):
        rows: dict[int, _ChildRow] = {}
        for _offering, student_id, name, number, grade, class_number in _next_group(
            enrollment_groups, pending_enrollments, offering_id
        ):
            rows.setdefault(student_id, _ChildRow(classroom_name(grade, class_number), number, name, {}))
        for _offering, student_id, name, number, grade, class_number, day, mark in _next_group(
            mark_groups, pending_marks, offering_id
        ):
            # A child marked and since gone from the offering keeps a row after the enrolled ones.
            row = rows.setdefault(
                student_id, _ChildRow(classroom_name(grade, class_number), number, name, {})
            )
            row.marks[day] = mark
        sheet = sheets[offering_id]
        for row in rows.values():
            counts = {mark: 0 for mark in Mark.values}
            for mark in row.marks.values():
                counts[mark] += 1
            write_row(
                sheet,
                [
                    row.classroom,
                    row.student_number,
                    row.name,
                    *(letters.get(row.marks.get(day), "") for day in dates[offering_id]),
                    counts[Mark.PRESENT],
                    counts[Mark.LATE],
                    counts[Mark.LEAVE],
                    counts[Mark.ABSENT],
                ],
            )
        progress(
            10 + 85 * position // len(offering_ids),
            _("已整理 %(done)d / %(total)d 个项目") % {"done": position, "total": len(offering_ids)},
        )
    return workbook_bytes(workbook)


def school_attendance_workbook(
    school: School, term: Term, *, date_from: date, date_to: date, progress: Progress | None = None
) -> bytes:
    """The whole school's children's attendance over a range of a term (the leaders' export)."""
    if term.school_id != school.pk:
        raise ValueError("the term is another school's")
    return children_attendance_workbook(term=term, date_from=date_from, date_to=date_to, progress=progress)


# Teachers' attendance -----------------------------------------------------------------------------


@dataclass
class _TeacherTotals:
    name: str
    sessions: int = 0
    on_time: int = 0
    late: int = 0
    late_minutes: int = 0
    absent_excused: int = 0
    absent_unexcused: int = 0
    not_recorded: int = 0
    incidents: int = 0
    records_complete: int = 0
    records_incomplete: int = 0
    records_unrated: int = 0
    records_missing: int = 0

    def add(self, attendance, record_rating: str | None) -> None:
        self.sessions += 1
        if attendance is None:
            self.not_recorded += 1
        elif attendance.presence == TeacherPresence.ON_TIME:
            self.on_time += 1
        elif attendance.presence == TeacherPresence.LATE:
            self.late += 1
            self.late_minutes += attendance.late_minutes
        elif attendance.presence == TeacherPresence.ABSENT_EXCUSED:
            self.absent_excused += 1
        else:
            self.absent_unexcused += 1
        if attendance is not None and attendance.incident:
            self.incidents += 1
        if record_rating is None:
            self.records_missing += 1
        elif record_rating == RecordRating.COMPLETE:
            self.records_complete += 1
        elif record_rating == RecordRating.INCOMPLETE:
            self.records_incomplete += 1
        else:
            self.records_unrated += 1


def _session_teachers(session) -> list:
    """The session's teachers (the offering's, its provider staff with an account) and anyone else an
    inspector recorded for it (a substitute), each once, in that order."""
    teachers = {teacher.pk: teacher for teacher in session.offering.teachers.all()}
    for member in session.offering.provider_staff.all():
        if member.user is not None:
            teachers.setdefault(member.user.pk, member.user)
    for attendance in session.teacher_attendance.all():
        teachers.setdefault(attendance.teacher_id, attendance.teacher)
    return list(teachers.values())


def teachers_attendance_workbook(term: Term, *, date_to: date, progress: Progress | None = None) -> bytes:
    """Sheet 1: a row per session held up to ``date_to`` and teacher (出勤 as recorded, 未记录 when
    nobody recorded it); sheet 2: each teacher's totals."""
    progress = progress or _silent
    sessions = selectors.export_teacher_sessions(term, date_to=date_to)
    session_total = sessions.count()
    workbook = new_workbook(write_only=True)
    detail = workbook.create_sheet(_("教师考勤明细"))
    detail.freeze_panes = "A2"
    write_row(
        detail,
        [
            _("日期"),
            _("星期"),
            _("项目"),
            _("教师"),
            _("出勤"),
            _("迟到分钟"),
            _("事故"),
            _("事故说明"),
            _("活动记录"),
        ],
    )
    totals: dict[int, _TeacherTotals] = {}
    not_recorded = _("未记录")
    for done, session in enumerate(sessions.iterator(chunk_size=SESSION_CHUNK_SIZE), start=1):
        recorded = {attendance.teacher_id: attendance for attendance in session.teacher_attendance.all()}
        record_state = selectors.record_state_label(session.record_rating)
        weekday = WEEKDAY_NAMES[session.date.weekday()]
        for teacher in _session_teachers(session):
            attendance = recorded.get(teacher.pk)
            write_row(
                detail,
                [
                    session.date,
                    weekday,
                    session.offering.name,
                    teacher.display_name,
                    attendance.get_presence_display() if attendance else not_recorded,
                    attendance.late_minutes if attendance else 0,
                    attendance.get_incident_display() if attendance and attendance.incident else "",
                    attendance.incident_description if attendance else "",
                    record_state,
                ],
            )
            totals.setdefault(teacher.pk, _TeacherTotals(teacher.display_name)).add(
                attendance, session.record_rating
            )
        if done % SESSION_CHUNK_SIZE == 0:
            progress(10 + 80 * done // max(session_total, 1), _("已整理 %(done)d 个场次") % {"done": done})

    summary = workbook.create_sheet(_("教师汇总"))
    summary.freeze_panes = "B2"
    write_row(
        summary,
        [
            _("教师"),
            _("场次"),
            _("准时"),
            _("迟到次数"),
            _("迟到分钟"),
            _("请假缺勤"),
            _("无故缺勤"),
            _("未记录"),
            _("事故"),
            _("记录完整"),
            _("记录不完整"),
            _("记录未评定"),
            _("记录缺失"),
        ],
    )
    for _teacher_id, row in sorted(totals.items(), key=lambda item: (item[1].name, item[0])):
        write_row(
            summary,
            [
                row.name,
                row.sessions,
                row.on_time,
                row.late,
                row.late_minutes,
                row.absent_excused,
                row.absent_unexcused,
                row.not_recorded,
                row.incidents,
                row.records_complete,
                row.records_incomplete,
                row.records_unrated,
                row.records_missing,
            ],
        )
    progress(95, _("正在保存工作簿"))
    return workbook_bytes(workbook)
