"""The family's forms: the application (报名表), the agreement signature, the withdrawal."""

from django import forms
from django.utils.translation import gettext_lazy as _

WAIVER_NEEDS_REASON = _("申请减免时请简要说明家庭经济困难的情况。")


class ApplicationForm(forms.Form):
    wants_basic_care = forms.BooleanField(label=_("参加基础托管"), required=False)
    course_ids = forms.TypedMultipleChoiceField(
        label=_("特色课程"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    waiver_requested = forms.BooleanField(label=_("申请减免或免收费用（家庭经济困难）"), required=False)
    waiver_reason = forms.CharField(
        label=_("减免理由"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, course_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course_ids"].choices = list(course_choices)

    def clean(self):
        data = super().clean()
        if data.get("waiver_requested") and not (data.get("waiver_reason") or "").strip():
            self.add_error("waiver_reason", WAIVER_NEEDS_REASON)
        return data


class SignForm(forms.Form):
    # The hash of the agreement text exactly as the page showed it; the service compares it with the
    # version in force, so a text changed in between is never signed unseen.
    text_hash = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    consent = forms.BooleanField(label=_("我已阅读并同意"), required=False)
    typed_name = forms.CharField(
        label=_("监护人姓名（作为签名）"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回原因"), required=False, max_length=200, widget=forms.Textarea(attrs={"rows": 2})
    )
