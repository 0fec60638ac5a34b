"""Input parsing for the review pages: return and reject reasons, bulk approval, waiver decisions and
new agreement versions. The rules (a reason is required, a waiver within the fee) live in services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftercare.money import to_fen

from .models import AgreementVersion, Application

REASON_MAX_LENGTH = Application._meta.get_field("return_reason").max_length
NOTHING_SELECTED = _("请至少勾选一份报名。")
WAIVER_AMOUNT_REQUIRED = _("批准减免时请填写减免金额。")


class ReasonForm(forms.Form):
    """Return (class review) or reject (principal): the service says when the reason is missing."""

    # Not required here: the service's own message (家长会收到通知) is the one shown.
    reason = forms.CharField(
        label=_("原因"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class BulkApproveForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # Any id is accepted here; the view checks each belongs to the school (404 otherwise).
        raw = data.getlist("ids") if data is not None and hasattr(data, "getlist") else []
        self.fields["ids"].choices = [(value, value) for value in raw]

    def clean_ids(self) -> list[int]:
        ids = sorted(set(self.cleaned_data["ids"]))
        if not ids:
            raise ValidationError(NOTHING_SELECTED)
        return ids


class WaiverDecideForm(forms.Form):
    GRANT = "grant"
    REFUSE = "refuse"

    decision = forms.ChoiceField(
        label=_("决定"),
        choices=[(GRANT, _("批准减免")), (REFUSE, _("不批准"))],
        widget=forms.RadioSelect,
    )
    amount = forms.DecimalField(
        label=_("减免金额（元）"), required=False, min_value=Decimal("0.00"), max_digits=8, decimal_places=2
    )

    def clean_amount(self) -> Decimal | None:
        amount = self.cleaned_data["amount"]
        return None if amount is None else to_fen(amount)

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("decision") == self.GRANT
            and cleaned.get("amount") is None
            and "amount" not in self.errors
        ):
            self.add_error("amount", WAIVER_AMOUNT_REQUIRED)
        return cleaned


class AgreementForm(forms.ModelForm):
    class Meta:
        model = AgreementVersion
        fields = ["title", "body", "effective_from"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 16}),
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "body": _(
                "包括安全协议：学校和家长的职责、接送、请假、收费与退费。发布后不能修改，修改请发布新版本。"
            ),
            "effective_from": _("生效后，新的报名须签署这个版本。"),
        }
