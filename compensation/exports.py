"""The pay sheet as an Excel workbook: a summary sheet with one row per teacher and a totals row
(values that add up exactly: the totals are the sums of the stored lines), the rules and the fund,
and one sheet per teacher with every session that counted and why. Fed by compensation.selectors."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from aftercare.spreadsheets import new_workbook, workbook_bytes, write_row

from . import selectors
from .models import PayoutLine, PayoutRun

MONEY_FORMAT = "0.00"
UNITS_FORMAT = "0.##"
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def summary_headers() -> list[str]:
    return [
        _("序号"),
        _("姓名"),
        _("场次"),
        _("工作量"),
        _("过程性奖励（元）"),
        _("终结性奖励（元）"),
        _("课时酬金（元）"),
        _("扣减工作量"),
        _("合计（元）"),
        _("签名"),
    ]


def run_title(run: PayoutRun) -> str:
    status = _("已审定") if run.is_approved else _("草稿，未审定")
    return _("%(school)s %(term)s 课后服务教师酬金发放表（%(status)s）") % {
        "school": run.school.name,
        "term": run.term.name,
        "status": status,
    }


def _number(sheet, value: Decimal, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def _bold(sheet, value) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=str(value))
    cell.font = Font(bold=True)
    cell.data_type = "s"
    return cell


def _sheet_title(index: int, name: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\ ; the number keeps titles unique.
    return f"{index:03d} {SHEET_TITLE_FORBIDDEN.sub('', name)}"[:31]


def pay_sheet_workbook(run: PayoutRun, lines: list[PayoutLine]) -> bytes:
    workbook = new_workbook(write_only=True)
    summary = workbook.create_sheet(_("酬金汇总"))
    write_row(summary, [_bold(summary, run_title(run))])
    write_row(
        summary,
        [
            _(
                "经费 %(fund)s 元；过程性奖励池 %(process)s 元；终结性奖励池 %(terminal)s 元；未分配 %(left)s 元；核算截止 %(cut_off)s"
            )
            % {
                "fund": run.fund,
                "process": run.process_pool,
                "terminal": run.terminal_pool,
                "left": run.undistributed,
                "cut_off": run.cut_off.isoformat(),
            }
        ],
    )
    write_row(summary, [])
    write_row(summary, [_bold(summary, header) for header in summary_headers()])
    for index, line in enumerate(lines, start=1):
        write_row(
            summary,
            [
                index,
                line.teacher_name,
                line.session_count,
                _number(summary, line.units, UNITS_FORMAT),
                _number(summary, line.process_share, MONEY_FORMAT),
                _number(summary, line.terminal_share, MONEY_FORMAT),
                _number(summary, line.hourly_pay, MONEY_FORMAT),
                _number(summary, line.deducted_units, UNITS_FORMAT),
                _number(summary, line.total, MONEY_FORMAT),
                "",
            ],
        )
    totals = selectors.line_totals(lines)
    write_row(
        summary,
        [
            _bold(summary, _("合计")),
            "",
            totals.session_count,
            _number(summary, totals.units, UNITS_FORMAT),
            _number(summary, totals.process_share, MONEY_FORMAT),
            _number(summary, totals.terminal_share, MONEY_FORMAT),
            _number(summary, totals.hourly_pay, MONEY_FORMAT),
            _number(summary, totals.deducted_units, UNITS_FORMAT),
            _number(summary, totals.total, MONEY_FORMAT),
            "",
        ],
    )
    write_row(summary, [])
    write_row(summary, [_("制表：")])
    write_row(summary, [_("校长审定：")])

    rules = workbook.create_sheet(_("规则与说明"))
    write_row(rules, [_bold(rules, _("酬金规则"))])
    for label, value in selectors.policy_rows(run.policy):
        write_row(rules, [label, value])
    write_row(rules, [])
    write_row(rules, [_bold(rules, _("经费"))])
    for label, value in selectors.fund_rows(run.fund_basis):
        write_row(rules, [label, value])
    write_row(rules, [])
    write_row(rules, [_bold(rules, _("说明"))])
    for note in selectors.pay_sheet_notes(run):
        write_row(rules, [note])

    for index, line in enumerate(lines, start=1):
        _teacher_sheet(workbook.create_sheet(_sheet_title(index, line.teacher_name)), run, line)
    return workbook_bytes(workbook)


def _teacher_sheet(sheet, run: PayoutRun, line: PayoutLine) -> None:
    write_row(sheet, [_bold(sheet, f"{line.teacher_name} · {run.term.name}")])
    for label, value, number_format in [
        (_("工作量"), line.units, UNITS_FORMAT),
        (_("扣减工作量"), line.deducted_units, UNITS_FORMAT),
        (_("过程性奖励（元）"), line.process_share, MONEY_FORMAT),
        (_("终结性奖励（元）"), line.terminal_share, MONEY_FORMAT),
        (_("课时酬金（元）"), line.hourly_pay, MONEY_FORMAT),
        (_("合计（元）"), line.total, MONEY_FORMAT),
    ]:
        write_row(sheet, [label, _number(sheet, value, number_format)])
    write_row(sheet, [])
    write_row(sheet, [_bold(sheet, _("计入的场次"))])
    write_row(
        sheet,
        [
            _bold(sheet, header)
            for header in [_("日期"), _("项目"), _("时段"), _("活动记录"), _("出勤"), _("事故")]
        ],
    )
    for session in selectors.session_rows(line):
        write_row(
            sheet,
            [
                session["date"],
                session["offering"],
                session["kind_label"],
                session["record_label"],
                session["attendance_label"],
                session["incident_label"],
            ],
        )
    if line.deductions:
        write_row(sheet, [])
        write_row(sheet, [_bold(sheet, _("扣减"))])
        write_row(sheet, [_bold(sheet, header) for header in [_("日期"), _("工作量"), _("原因")]])
        for deduction in line.deductions:
            write_row(
                sheet,
                [
                    deduction["date"],
                    _number(sheet, Decimal(deduction["units"]), UNITS_FORMAT),
                    deduction["reason"],
                ],
            )
    write_row(sheet, [])
    write_row(sheet, [_bold(sheet, _("计算过程"))])
    for text in line.explanation:
        write_row(sheet, [text])
