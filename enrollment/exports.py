"""Excel workbooks of the school's enrollment pages, fed by enrollment.selectors. Every string goes
through aftercare.spreadsheets, so a child named "=1+1" stays text."""

from __future__ import annotations

from django.utils.translation import gettext as _

from aftercare.permissions import shown_phone
from aftercare.spreadsheets import new_workbook, workbook_bytes, write_row
from catalogue.models import Offering, OfferingKind

from .models import Choice, Enrollment


def _choice_text(choice: Choice) -> str:
    return f"{choice.offering.name}（{choice.get_status_display()}）"


def applications_workbook(applications) -> bytes:
    """One row per application: class, child, status, basic care, courses with their outcome."""
    workbook = new_workbook(write_only=True)
    sheet = workbook.create_sheet(_("报名名单"))
    write_row(
        sheet, [_("班级"), _("学号"), _("姓名"), _("状态"), _("基础托管"), _("特色课程"), _("提交时间")]
    )
    for application in applications:
        choices = list(application.choices.all())
        basic = [c for c in choices if c.offering.kind == OfferingKind.BASIC_CARE]
        courses = [c for c in choices if c.offering.kind == OfferingKind.COURSE]
        write_row(
            sheet,
            [
                application.student.classroom.name,
                application.student.student_number,
                application.student.name,
                application.get_status_display(),
                basic[0].get_status_display() if basic else "",
                "；".join(_choice_text(c) for c in courses),
                application.submitted_at,
            ],
        )
    return workbook_bytes(workbook)


def roster_workbook(user, offering: Offering, enrollments: list[Enrollment], waiting: list[Choice]) -> bytes:
    """The course's children with their guardians (phones as ``user`` may see them), and its
    waiting list in order."""
    workbook = new_workbook(write_only=True)
    sheet = workbook.create_sheet(_("在读名单"))
    write_row(sheet, [_("班级"), _("学号"), _("姓名"), _("监护人"), _("电话"), _("加入日期")])
    for enrollment in enrollments:
        student = enrollment.student
        guardians = list(student.guardians.all())
        write_row(
            sheet,
            [
                student.classroom.name,
                student.student_number,
                student.name,
                "、".join(g.name for g in guardians),
                "、".join(shown_phone(user, student, g.phone) for g in guardians),
                enrollment.joined_on,
            ],
        )
    waiting_sheet = workbook.create_sheet(_("候补名单"))
    write_row(waiting_sheet, [_("顺序"), _("班级"), _("姓名"), _("报名时间")])
    for position, choice in enumerate(waiting, start=1):
        student = choice.application.student
        write_row(
            waiting_sheet, [position, student.classroom.name, student.name, choice.application.submitted_at]
        )
    return workbook_bytes(workbook)
