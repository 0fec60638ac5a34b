"""Input parsing for the term pages: new term, calendar and time bands, fee standard, district policy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftercare.models import Grade

from .calendar_rules import date_runs
from .models import CalendarDate, Season, SlotKind
from .services import SLOT_GRADES_REVERSED, SLOT_TIMES_REVERSED

WEEKDAY_LABELS = (_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日"))
WEEKDAY_CHOICES = list(enumerate(WEEKDAY_LABELS))
BLANK = [("", "—")]

BAD_DATE_LINE = _("第 %(line)d 行“%(text)s”：无法识别日期，请写成 2026-10-01 或 2026/10/1，后面可加原因。")
DATE_REPEATED = _("第 %(line)d 行：%(date)s 在第 %(first)d 行已经写过。")
RANGE_REVERSED = _("第 %(line)d 行：日期范围的结束日期早于开始日期。")
RANGE_TOO_LONG = _("第 %(line)d 行：一个日期范围最多 %(days)d 天。")
REASON_TOO_LONG = _("第 %(line)d 行：原因最多 %(length)d 个字。")
MAX_RANGE_DAYS = 31
REASON_MAX_LENGTH = CalendarDate._meta.get_field("reason").max_length

# Full-width digits and separators typed with a Chinese input method count as their ASCII forms.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９／－．～　", "0123456789/-.~ ")
_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_LINE = re.compile(rf"{_DATE}(?:\s*(?:~|至|到)\s*{_DATE})?(.*)", re.DOTALL)


def weekday_text(weekdays: Iterable[int]) -> str:
    return "、".join(str(WEEKDAY_LABELS[day]) for day in sorted(set(weekdays)))


def parse_date_lines(text: str) -> list[tuple[date, str]]:
    """One date per line, ``2026-10-01 国庆节`` or ``2026/10/1``, or a range ``2026-10-01~2026-10-07
    国庆节``; blank lines are skipped. Every bad line is reported with its line number."""
    days: list[tuple[date, str]] = []
    first_line: dict[date, int] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line.translate(_FULL_WIDTH))
        rest = match.group(7).strip() if match else ""
        if match is None or rest[:1].isdigit() or rest[:1] in ("~", "至", "到"):
            problems.append(BAD_DATE_LINE % {"line": number, "text": line})
            continue
        try:
            start = date(*(int(part) for part in match.group(1, 2, 3)))
            end = date(*(int(part) for part in match.group(4, 5, 6))) if match.group(4) else start
        except ValueError:
            problems.append(BAD_DATE_LINE % {"line": number, "text": line})
            continue
        # The reason keeps the characters as typed (the translation above maps one character to one),
        # without a separator typed before it.
        reason = line[match.start(7) :].strip().lstrip(",，、:：;；").strip()
        if end < start:
            problems.append(RANGE_REVERSED % {"line": number})
            continue
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            problems.append(RANGE_TOO_LONG % {"line": number, "days": MAX_RANGE_DAYS})
            continue
        if len(reason) > REASON_MAX_LENGTH:
            problems.append(REASON_TOO_LONG % {"line": number, "length": REASON_MAX_LENGTH})
            continue
        day = start
        while day <= end:
            if day in first_line:
                problems.append(DATE_REPEATED % {"line": number, "date": day, "first": first_line[day]})
                break
            first_line[day] = number
            days.append((day, reason))
            day += timedelta(days=1)
    if problems:
        raise ValidationError(problems)
    return days


def format_date_lines(dates: Mapping[date, str]) -> str:
    """The inverse of ``parse_date_lines``: consecutive days with the same reason become one range."""
    lines = []
    for start, end, reason in date_runs(dict(dates)):
        span = f"{start:%Y-%m-%d}" if end == start else f"{start:%Y-%m-%d}~{end:%Y-%m-%d}"
        lines.append(f"{span} {reason}".rstrip())
    return "\n".join(lines)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class TermCreateForm(forms.Form):
    name = forms.CharField(label=_("学期名称"), max_length=60, help_text=_("例如：2027春季学期"))
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput)
    ends_on = forms.DateField(label=_("结束日期"), widget=DateInput)
    winter_starts_on = forms.DateField(
        label=_("冬季作息开始"),
        widget=DateInput,
        required=False,
        help_text=_("冬季放学较早；不分冬夏作息的学校留空。"),
    )
    winter_ends_on = forms.DateField(
        label=_("冬季作息结束"),
        widget=DateInput,
        required=False,
        help_text=_("留空表示冬季作息一直到学期结束。"),
    )


class CalendarForm(forms.Form):
    service_weekdays = forms.TypedMultipleChoiceField(
        label=_("每周服务日"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("不勾选的日子每周都不开展，例如周四教师集中学习。"),
    )
    winter_starts_on = forms.DateField(label=_("冬季作息开始"), widget=DateInput, required=False)
    winter_ends_on = forms.DateField(
        label=_("冬季作息结束"),
        widget=DateInput,
        required=False,
        help_text=_("留空表示冬季作息一直到学期结束。"),
    )
    excluded = forms.CharField(
        label=_("不开展的日期（节假日等）"),
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": _("2026-10-01~2026-10-07 国庆节")}),
        required=False,
        help_text=_(
            "每行一个日期和原因，如“2026-10-01 国庆节”；连续几天可写成“2026-10-01~2026-10-07 国庆节”。"
        ),
    )
    makeup = forms.CharField(
        label=_("调休补班日（照常开展）"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("2026-10-10 国庆调休")}),
        required=False,
        help_text=_("每行一个日期和原因，如“2026-10-10 国庆调休”。这些日子即使不是每周服务日也开展。"),
    )

    def clean_excluded(self) -> list[tuple[date, str]]:
        return parse_date_lines(self.cleaned_data["excluded"])

    def clean_makeup(self) -> list[tuple[date, str]]:
        return parse_date_lines(self.cleaned_data["makeup"])


class TimeSlotForm(forms.Form):
    kind = forms.ChoiceField(label=_("时段"), choices=BLANK + SlotKind.choices)
    season = forms.ChoiceField(label=_("作息"), choices=BLANK + Season.choices)
    grade_from = forms.TypedChoiceField(
        label=_("起始年级"), choices=BLANK + Grade.choices, coerce=int, empty_value=None
    )
    grade_to = forms.TypedChoiceField(
        label=_("结束年级"), choices=BLANK + Grade.choices, coerce=int, empty_value=None
    )
    starts_at = forms.TimeField(label=_("开始时间"), widget=TimeInput)
    ends_at = forms.TimeField(label=_("结束时间"), widget=TimeInput)

    def clean(self):
        cleaned = super().clean()
        grade_from, grade_to = cleaned.get("grade_from"), cleaned.get("grade_to")
        if grade_from is not None and grade_to is not None and grade_from > grade_to:
            self.add_error("grade_to", str(SLOT_GRADES_REVERSED))
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at is not None and ends_at is not None and starts_at >= ends_at:
            self.add_error("ends_at", str(SLOT_TIMES_REVERSED))
        return cleaned


class BaseTimeSlotFormSet(forms.BaseFormSet):
    def slots(self) -> list[dict]:
        """The bands to save: filled rows not marked for deletion."""
        return [
            {name: value for name, value in form.cleaned_data.items() if name != "DELETE"}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


TimeSlotFormSet = forms.formset_factory(
    TimeSlotForm,
    formset=BaseTimeSlotFormSet,
    extra=2,
    can_delete=True,
    can_delete_extra=False,
    max_num=30,
    validate_max=True,
)


class FeeStandardForm(forms.Form):
    is_free = forms.BooleanField(label=_("本学期课后服务全部免费"), required=False)
    legal_basis = forms.CharField(
        label=_("收费依据"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("收费所依据的文件名称和文号，向家长公示。"),
    )
    complaint_phone = forms.CharField(label=_("投诉电话"), max_length=30, required=False)
    refund_rule = forms.CharField(
        label=_("退费办法"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("例如：因病请假一周以上按实际未参加次数退费。"),
    )


class DistrictPolicyForm(forms.Form):
    basic_care_cap = forms.DecimalField(
        label=_("基础托管每生每学期上限（元）"), max_digits=8, decimal_places=2, min_value=Decimal("0")
    )
    course_cap = forms.DecimalField(
        label=_("特色课程每生每学期上限（元）"), max_digits=8, decimal_places=2, min_value=Decimal("0")
    )
    hourly_pay_min = forms.DecimalField(
        label=_("课时酬金下限（元）"), max_digits=6, decimal_places=2, min_value=Decimal("0")
    )
    hourly_pay_max = forms.DecimalField(
        label=_("课时酬金上限（元）"), max_digits=6, decimal_places=2, min_value=Decimal("0")
    )
    low_satisfaction_percent = forms.DecimalField(
        label=_("满意度低于此值的课程下学期不再开设（%）"),
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
    )
