"""Input parsing for the pay pages; the rules themselves are checked by the services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FundSource, LateMode, PayModel
from .services import ScoreInput

UNITS = {"max_digits": 5, "decimal_places": 2, "min_value": Decimal("0")}
MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}
SCORE_WITHOUT_RESPONSES = _("请填写问卷份数。")
RESPONSES_WITHOUT_SCORE = _("填写了问卷份数，请同时填写得分。")


class PayPolicyForm(forms.Form):
    model = forms.ChoiceField(label=_("计酬方式"), choices=PayModel.choices, widget=forms.RadioSelect)
    process_ratio = forms.IntegerField(label=_("过程性奖励比例"), min_value=0, max_value=100)
    terminal_ratio = forms.IntegerField(label=_("终结性奖励比例"), min_value=0, max_value=100)
    complete_record_units = forms.DecimalField(label=_("活动记录完整的场次"), **UNITS)
    incomplete_record_units = forms.DecimalField(label=_("活动记录不完整的场次"), **UNITS)
    missing_record_units = forms.DecimalField(label=_("没有活动记录的场次"), **UNITS)
    noon_units = forms.DecimalField(label=_("午间场次（每次）"), **UNITS)
    late_mode = forms.ChoiceField(label=_("迟到的计法"), choices=LateMode.choices, widget=forms.RadioSelect)
    late_deduction_units = forms.DecimalField(label=_("每迟到一次扣减"), **UNITS)
    late_replacement_units = forms.DecimalField(label=_("迟到的场次改计为"), **UNITS)
    ethics_voids_terminal = forms.BooleanField(label=_("师德失范同时取消期末奖励"), required=False)
    min_survey_responses = forms.IntegerField(label=_("参与期末奖励至少需要的家长问卷份数"), min_value=0)
    hourly_rate = forms.DecimalField(
        label=_("课时单价（元）"), max_digits=6, decimal_places=2, min_value=Decimal("0"), required=False
    )


class TermFundForm(forms.Form):
    source = forms.ChoiceField(label=_("经费来源"), choices=FundSource.choices, widget=forms.RadioSelect)
    entered_amount = forms.DecimalField(label=_("经费总额（元）"), required=False, **MONEY)
    fiscal_subsidy = forms.DecimalField(label=_("财政补贴（元）"), **MONEY)
    reserve = forms.DecimalField(label=_("学校预留（元）"), **MONEY)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class DraftForm(forms.Form):
    cut_off = forms.DateField(
        label=_("核算截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("留空：学期结束日，学期未结束时为今天。"),
    )


class SurveyScoresForm(forms.Form):
    """One score, response count and eligibility per teacher of the term; a blank score means none."""

    def __init__(self, *args, teachers, entries, **kwargs):
        super().__init__(*args, **kwargs)
        self.teachers = teachers
        for teacher in teachers:
            entry = entries.get(teacher.pk)
            self.fields[f"score_{teacher.pk}"] = forms.DecimalField(
                label=_("问卷得分"),
                max_digits=6,
                decimal_places=2,
                min_value=Decimal("0"),
                required=False,
                initial=entry.score if entry else None,
            )
            self.fields[f"responses_{teacher.pk}"] = forms.IntegerField(
                label=_("问卷份数"), min_value=0, required=False, initial=entry.responses if entry else None
            )
            self.fields[f"eligible_{teacher.pk}"] = forms.BooleanField(
                label=_("学校评定可享受期末奖励"),
                required=False,
                initial=entry.eligible_for_terminal if entry else True,
            )

    def rows(self):
        """(teacher, score field, responses field, eligible field) for the template."""
        return [
            (
                teacher,
                self[f"score_{teacher.pk}"],
                self[f"responses_{teacher.pk}"],
                self[f"eligible_{teacher.pk}"],
            )
            for teacher in self.teachers
        ]

    def clean(self):
        cleaned = super().clean()
        for teacher in self.teachers:
            score = cleaned.get(f"score_{teacher.pk}")
            responses = cleaned.get(f"responses_{teacher.pk}")
            if score is not None and responses is None and f"responses_{teacher.pk}" not in self.errors:
                self.add_error(f"responses_{teacher.pk}", SCORE_WITHOUT_RESPONSES)
            if score is None and responses is not None and f"score_{teacher.pk}" not in self.errors:
                self.add_error(f"score_{teacher.pk}", RESPONSES_WITHOUT_SCORE)
        return cleaned

    def scores(self) -> list[ScoreInput]:
        return [
            ScoreInput(
                teacher=teacher,
                score=self.cleaned_data[f"score_{teacher.pk}"],
                responses=self.cleaned_data[f"responses_{teacher.pk}"] or 0,
                eligible_for_terminal=self.cleaned_data[f"eligible_{teacher.pk}"],
            )
            for teacher in self.teachers
        ]
