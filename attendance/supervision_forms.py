"""Forms of the supervision pages: input parsing only; the rules and their messages live in
attendance.supervision (the forms reuse its messages so a page says the same as the service)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import supervision
from .models import Finding, IncidentKind, RecordRating, TeacherPresence
from .supervision_selectors import RANGE_MAX_DAYS, RecordState, offering_choices, teacher_choices, this_week

RANGE_BACKWARDS = _("结束日期不能早于开始日期。")
RANGE_TOO_LONG = _("日期范围最多 62 天。")
ALL = ("", _("全部"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each is checked by the service (type by content, size)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, list | tuple):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


def date_input():
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


# Activity records -----------------------------------------------------------------------------


class ActivityRecordForm(forms.Form):
    content = forms.CharField(
        label=_("活动内容"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": supervision.CONTENT_REQUIRED},
        help_text=_("本场做了什么：内容、形式、学生表现。"),
    )
    homework_progress = forms.CharField(
        label=_("作业辅导情况"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("完成作业的人数、普遍的问题、需要家长关注的学生。"),
    )
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = MultipleFileField(
        label=_("照片"),
        required=False,
        help_text=_("可选，JPG 或 PNG，每张不超过 5 MB，每份记录最多 6 张。"),
    )

    def __init__(self, *args, session, **kwargs):
        super().__init__(*args, **kwargs)
        if session.offering.is_course:
            del self.fields["homework_progress"]


class RateForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("评定"),
        choices=[
            (RecordRating.COMPLETE, RecordRating.COMPLETE.label),
            (RecordRating.INCOMPLETE, RecordRating.INCOMPLETE.label),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": supervision.RATING_REQUIRED,
            "invalid_choice": supervision.RATING_REQUIRED,
        },
    )
    note = forms.CharField(label=_("评定意见"), max_length=200, required=False)


# Teachers' attendance -------------------------------------------------------------------------


class TeacherAttendanceForm(forms.Form):
    presence = forms.ChoiceField(
        choices=TeacherPresence.choices,
        error_messages={
            "required": supervision.PRESENCE_REQUIRED,
            "invalid_choice": supervision.PRESENCE_REQUIRED,
        },
    )
    late_minutes = forms.IntegerField(
        required=False, error_messages={"invalid": supervision.LATE_MINUTES_OUT_OF_RANGE}
    )
    incident = forms.ChoiceField(
        choices=IncidentKind.choices,
        required=False,
        error_messages={"invalid_choice": supervision.INCIDENT_UNKNOWN},
    )
    incident_description = forms.CharField(max_length=300, required=False)


# Ethics breaches ------------------------------------------------------------------------------


class TeacherChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class EthicsBreachForm(forms.Form):
    teacher = TeacherChoiceField(label=_("教师"), queryset=None, empty_label=_("请选择"))
    date = forms.DateField(label=_("日期"), widget=date_input())
    description = forms.CharField(
        label=_("情况说明"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": supervision.DESCRIPTION_REQUIRED},
    )

    def __init__(self, *args, teachers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = teachers
        self.fields["date"].initial = timezone.localdate()


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销原因"),
        max_length=200,
        error_messages={"required": supervision.WITHDRAW_REASON_REQUIRED},
    )


# Inspections ----------------------------------------------------------------------------------


class InspectionForm(forms.Form):
    inspected_at = forms.TimeField(
        label=_("巡查时间"), widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    findings = forms.MultipleChoiceField(
        label=_("发现的问题"),
        choices=Finding.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("都没有勾选表示一切正常。"),
    )
    description = forms.CharField(
        label=_("情况说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png"}),
        help_text=_("可选，JPG 或 PNG，不超过 5 MB。"),
    )

    def __init__(self, *args, session, **kwargs):
        super().__init__(*args, **kwargs)
        now = timezone.localtime()
        # Rounds are mostly recorded on the spot; afterwards, the session's start is the likelier time.
        default = now.time() if session.date == now.date() else session.starts_at
        self.fields["inspected_at"].initial = default.strftime("%H:%M") if default else None


# Filters ----------------------------------------------------------------------------------------


class DateRangeForm(forms.Form):
    """A date range of at most 62 days; without one (or with a wrong one), this week to today."""

    start = forms.DateField(label=_("开始日期"), required=False, widget=date_input())
    end = forms.DateField(label=_("结束日期"), required=False, widget=date_input())

    def __init__(self, data=None, *, today: date, **kwargs):
        self.today = today
        self.default_range = this_week(today)
        super().__init__(data if data else None, **kwargs)
        self.fields["start"].initial, self.fields["end"].initial = self.default_range

    def clean(self):
        cleaned = super().clean()
        start = cleaned.get("start") or self.default_range[0]
        end = cleaned.get("end") or max(start, self.default_range[1])
        if end < start:
            self.add_error("end", RANGE_BACKWARDS)
        elif (end - start).days + 1 > RANGE_MAX_DAYS:
            self.add_error("end", RANGE_TOO_LONG)
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def date_range(self) -> tuple[date, date]:
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.default_range

    def chosen(self, name):
        """A filter's value when the form is valid (a stale link shows the whole range instead)."""
        return self.cleaned_data.get(name) if self.is_bound and self.is_valid() else None


class _SchoolFilterForm(DateRangeForm):
    offering = forms.ModelChoiceField(label=_("项目"), queryset=None, required=False, empty_label=_("全部"))
    teacher = TeacherChoiceField(label=_("教师"), queryset=None, required=False, empty_label=_("全部"))

    def __init__(self, data=None, *, school, today: date, **kwargs):
        super().__init__(data, today=today, **kwargs)
        start, end = self.default_range
        if self.is_bound:
            # The offerings of the terms around the asked range (parsed leniently here).
            start = self._date(data.get("start")) or start
            end = self._date(data.get("end")) or end
        self.fields["offering"].queryset = offering_choices(school, min(start, end), max(start, end))
        self.fields["teacher"].queryset = teacher_choices(school)

    @staticmethod
    def _date(value):
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            return None


class RecordFilterForm(_SchoolFilterForm):
    state = forms.ChoiceField(
        label=_("记录状态"),
        required=False,
        choices=[ALL, *((state, RecordState.LABELS[state]) for state in RecordState.FILTERABLE)],
    )

    field_order = ["start", "end", "state", "offering", "teacher"]


class InspectionFilterForm(_SchoolFilterForm):
    with_findings = forms.BooleanField(label=_("只看发现问题的巡查"), required=False)

    field_order = ["start", "end", "offering", "teacher", "with_findings"]
