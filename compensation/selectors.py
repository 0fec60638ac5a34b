"""Reads for the pay pages: the school's terms and runs, a run's lines, the term's teachers, what
changed in the records after a draft or an approval, and the stored snapshots as rows to show."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.models import School, Term
from attendance.models import (
    ActivityRecord,
    EthicsBreach,
    IncidentKind,
    RecordRating,
    TeacherAttendance,
    TeacherPresence,
)

from . import gather
from .models import (
    FundSource,
    LateMode,
    PayModel,
    PayoutLine,
    PayoutRun,
    PayPolicy,
    RunStatus,
    SurveyScoreEntry,
    TermFund,
    plain_units,
)

KIND_LABELS = {"regular": gettext_lazy("常规"), "noon": gettext_lazy("午间")}


def school_terms(school: School) -> list[Term]:
    """The school's terms, newest first, each with its run (or None) as ``run``."""
    terms = list(Term.objects.filter(school=school).select_related("payout_run").order_by("-starts_on"))
    for term in terms:
        # A term without a run raises on the reverse one-to-one; hasattr turns that into False.
        term.run = term.payout_run if hasattr(term, "payout_run") else None
    return terms


def term_run(term: Term) -> PayoutRun | None:
    return PayoutRun.objects.filter(term=term).first()


def is_frozen(term: Term) -> bool:
    return PayoutRun.objects.filter(term=term, status=RunStatus.APPROVED).exists()


def term_teachers(term: Term) -> list:
    """Everyone who teaches an offering of the term as school staff, and anyone already holding a
    survey score for it, by name."""
    return list(
        get_user_model()
        .objects.filter(
            Q(taught_offerings__term=term) | Q(pk__in=term.survey_score_entries.values("teacher_id"))
        )
        .distinct()
        .order_by("full_name", "username")
    )


def run_lines(run: PayoutRun) -> list[PayoutLine]:
    return list(run.lines.order_by("teacher_name", "teacher_id"))


@dataclass(frozen=True)
class Totals:
    units: Decimal
    deducted_units: Decimal
    process_share: Decimal
    terminal_share: Decimal
    hourly_pay: Decimal
    total: Decimal
    session_count: int

    @property
    def units_text(self) -> str:
        return plain_units(self.units)

    @property
    def deducted_units_text(self) -> str:
        return plain_units(self.deducted_units)


def line_totals(lines: list[PayoutLine]) -> Totals:
    """Column sums of the stored lines: what the totals row of every pay sheet shows."""

    def column(name: str) -> Decimal:
        return sum((getattr(line, name) for line in lines), Decimal("0.00"))

    return Totals(
        units=column("units"),
        deducted_units=column("deducted_units"),
        process_share=column("process_share"),
        terminal_share=column("terminal_share"),
        hourly_pay=column("hourly_pay"),
        total=column("total"),
        session_count=sum(line.session_count for line in lines),
    )


def my_lines(user) -> list[PayoutLine]:
    """The user's own lines in approved runs, newest first; drafts are not shown to teachers."""
    return list(
        PayoutLine.objects.filter(teacher=user, run__status=RunStatus.APPROVED)
        .select_related("run__term", "run__school")
        .order_by("-run__approved_at")
    )


# Snapshots as rows ---------------------------------------------------------------------------------


def _units(value) -> str:
    return plain_units(Decimal(value))


def policy_rows(snapshot: dict) -> list[tuple[str, str]]:
    """The rules a run used (or the term's current ones), label and value, in reading order."""
    if not snapshot:
        return []
    rows = [(_("计酬方式"), PayModel(snapshot["model"]).label)]
    if snapshot["model"] == PayModel.POOLS:
        rows.append(
            (
                _("过程性奖励 : 终结性奖励"),
                f"{snapshot['process_ratio']} : {snapshot['terminal_ratio']}",
            )
        )
    rows += [
        (_("活动记录完整的场次"), _units(snapshot["complete_record_units"])),
        (_("活动记录不完整的场次"), _units(snapshot["incomplete_record_units"])),
        (_("没有活动记录的场次"), _units(snapshot["missing_record_units"])),
        (_("午间场次（每次）"), _units(snapshot["noon_units"])),
    ]
    if snapshot["late_mode"] == LateMode.DEDUCT:
        rows.append((_("每迟到一次"), f"-{_units(snapshot['late_deduction_units'])}"))
    else:
        rows.append((_("迟到的场次改计为"), _units(snapshot["late_replacement_units"])))
    rows += [
        (_("无故缺勤"), _("当天不计工作量")),
        (_("失职或安全事故"), _("当天不计工作量，且不享受期末奖励")),
        (
            _("师德失范"),
            _("当月不计工作量，且不享受期末奖励")
            if snapshot["ethics_voids_terminal"]
            else _("当月不计工作量"),
        ),
    ]
    if snapshot["model"] == PayModel.POOLS:
        rows.append((_("参与期末奖励的最少问卷份数"), str(snapshot["min_survey_responses"])))
    else:
        rows.append((_("课时单价（元）"), str(snapshot["hourly_rate"])))
    rows.append(
        (
            _("教育局课时酬金标准（元）"),
            f"{snapshot['hourly_rate_low']}–{snapshot['hourly_rate_high']}",
        )
    )
    return rows


def fund_rows(basis: dict) -> list[tuple[str, str]]:
    if not basis:
        return []
    if basis["source"] == FundSource.ENTERED:
        rows = [(_("经费来源"), FundSource.ENTERED.label), (_("经费总额（元）"), basis["fund"])]
    else:
        rows = [
            (_("经费来源"), _("收费台账")),
            (_("本学期已收费（元）"), basis["payments"]),
            (_("已退费（元）"), f"-{basis['refunds']}"),
            (_("财政补贴（元）"), basis["fiscal_subsidy"]),
            (_("学校预留（元）"), f"-{basis['reserve']}"),
            (_("可分配经费（元）"), basis["fund"]),
        ]
    if basis.get("note"):
        rows.append((_("说明"), basis["note"]))
    return rows


def warning_groups(warnings: list[dict]) -> list[dict]:
    """Session warnings grouped by kind, in the order the administrator should act on them; the
    run-wide notices (cut-off, fund) first."""
    notices = []
    groups: dict[str, list[dict]] = {}
    for warning in warnings:
        kind = warning["kind"]
        if kind == gather.WARNING_CUT_OFF_EARLY:
            notices.append(
                _("核算截止于 %(cut_off)s，早于学期结束日 %(ends_on)s：之后的场次不在这次核算内。") % warning
            )
        elif kind == gather.WARNING_OVER_FUND:
            notices.append(_("按课时计酬合计 %(total)s 元，超过本学期经费 %(fund)s 元。") % warning)
        elif kind == gather.WARNING_UNDISTRIBUTED:
            notices.append(
                _("有 %(amount)s 元没有分配：没有教师有工作量，或符合条件教师的问卷得分合计为 0。") % warning
            )
        else:
            groups.setdefault(kind, []).append(warning)
    titles = {
        gather.WARNING_UNRATED: _("活动记录未评定（暂按不完整计），请先评定"),
        gather.WARNING_NO_RECORD: _("没有活动记录（不计工作量）"),
        gather.WARNING_NO_ROLL: _("没有点名记录"),
        gather.WARNING_NO_TEACHER: _("没有授课教师的场次"),
    }
    order = [
        gather.WARNING_UNRATED,
        gather.WARNING_NO_RECORD,
        gather.WARNING_NO_ROLL,
        gather.WARNING_NO_TEACHER,
    ]
    return [{"notice": notice} for notice in notices] + [
        {"kind": kind, "title": titles[kind], "sessions": groups[kind]} for kind in order if kind in groups
    ]


SESSION_RECORD_LABELS = {
    RecordRating.COMPLETE.value: gettext_lazy("完整"),
    RecordRating.INCOMPLETE.value: gettext_lazy("不完整"),
    RecordRating.UNRATED.value: gettext_lazy("未评定（暂按不完整计）"),
    "": gettext_lazy("无活动记录"),
}


def session_rows(line: PayoutLine) -> list[dict]:
    """The line's sessions with labels, for the drill-down page and the per-teacher sheet."""
    presence_labels = dict(TeacherPresence.choices)
    incident_labels = dict(IncidentKind.choices)
    return [
        {
            **session,
            "kind_label": KIND_LABELS[session["kind"]],
            "record_label": SESSION_RECORD_LABELS[session["rating"]],
            "attendance_label": presence_labels[session["attendance"]],
            "incident_label": incident_labels[session["incident"]] if session["incident"] else "",
        }
        for session in line.sessions
    ]


# Corrections after a draft or an approval ------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    changed_at: datetime.datetime
    changed_by: str
    what: str
    subject: str
    change: str


HISTORY_VERBS = {"+": gettext_lazy("新增"), "~": gettext_lazy("修改"), "-": gettext_lazy("删除")}


def _by(row) -> str:
    return row.history_user.display_name if row.history_user else _("系统")


def corrections_since(term: Term, since: datetime.datetime) -> list[Correction]:
    """Changes to the records that feed pay, dated in the term and made after ``since``: activity
    records, teachers' attendance and ethics breaches. Three queries."""
    corrections = []
    for row in ActivityRecord.history.filter(session__term=term, history_date__gt=since).select_related(
        "session__offering", "history_user"
    ):
        corrections.append(
            Correction(
                row.history_date,
                _by(row),
                _("活动记录"),
                f"{row.session.date.isoformat()} {row.session.offering.name}",
                f"{HISTORY_VERBS[row.history_type]} · {_('评定')}：{row.get_rating_display()}",
            )
        )
    for row in TeacherAttendance.history.filter(session__term=term, history_date__gt=since).select_related(
        "session__offering", "teacher", "history_user"
    ):
        change = f"{HISTORY_VERBS[row.history_type]} · {row.get_presence_display()}"
        if row.incident:
            change += f" · {row.get_incident_display()}"
        corrections.append(
            Correction(
                row.history_date,
                _by(row),
                _("教师考勤"),
                f"{row.session.date.isoformat()} {row.session.offering.name} · {row.teacher.display_name}",
                change,
            )
        )
    for row in EthicsBreach.history.filter(term=term, history_date__gt=since).select_related(
        "teacher", "history_user"
    ):
        verb = _("撤销") if row.is_withdrawn and row.history_type == "~" else HISTORY_VERBS[row.history_type]
        corrections.append(
            Correction(
                row.history_date,
                _by(row),
                _("师德失范记录"),
                f"{row.date.isoformat()} · {row.teacher.display_name}",
                verb,
            )
        )
    return sorted(corrections, key=lambda correction: correction.changed_at)


def settings_changed_since(term: Term, since: datetime.datetime) -> list[str]:
    """Which of the term's pay settings changed after ``since`` (policy, fund, survey scores)."""
    changed = []
    if PayPolicy.history.filter(term=term, history_date__gt=since).exists():
        changed.append(_("酬金规则"))
    if TermFund.history.filter(term=term, history_date__gt=since).exists():
        changed.append(_("经费"))
    if SurveyScoreEntry.history.filter(term=term, history_date__gt=since).exists():
        changed.append(_("家长问卷得分"))
    return changed


def pay_sheet_notes(run: PayoutRun) -> list[str]:
    """What every pay sheet says about the choices behind it (see compensation.gather)."""
    notes = [
        _("核算 %(starts_on)s 至 %(cut_off)s 的场次；已取消的场次不计。")
        % {"starts_on": run.term.starts_on.isoformat(), "cut_off": run.cut_off.isoformat()},
        _("没有教师考勤记录的场次按准时计：考勤员只记录迟到、缺勤和事故。"),
        _("活动记录已填写但尚未评定的场次，暂按“不完整”计。"),
        _("校外机构人员的报酬由所属机构按合同支付，不从学校经费中发放，不列入本表。"),
    ]
    staff = run.inputs.get("provider_staff", [])
    if staff:
        notes.append(
            _("本学期由机构人员授课的有：%(names)s。")
            % {
                "names": "、".join(
                    _("%(name)s（%(provider)s，%(sessions)d 场）") % person for person in staff
                )
            }
        )
    return notes
