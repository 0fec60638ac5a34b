"""Forms of the school's enrollment pages: filters and the payment form (parsing only; the rules
live in enrollment.services)."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.models import Classroom, Grade, Term
from catalogue.models import Offering

from .models import ApplicationStatus, PaymentMethod

ALL = ("", _("全部"))


class ApplicationFilterForm(forms.Form):
    classroom = forms.ModelChoiceField(
        label=_("班级"), queryset=Classroom.objects.none(), required=False, empty_label=_("全部")
    )
    grade = forms.TypedChoiceField(
        label=_("年级"), choices=[ALL, *Grade.choices], coerce=int, empty_value=None, required=False
    )
    offering = forms.ModelChoiceField(
        label=_("项目"), queryset=Offering.objects.none(), required=False, empty_label=_("全部")
    )
    status = forms.ChoiceField(label=_("状态"), choices=[ALL, *ApplicationStatus.choices], required=False)

    def __init__(self, *args, term: Term, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["classroom"].queryset = Classroom.objects.filter(school_id=term.school_id).order_by(
            "grade", "number"
        )
        self.fields["offering"].queryset = Offering.objects.filter(term=term).order_by("kind", "name", "pk")

    def filters(self) -> dict:
        """The chosen filters as keyword arguments of selectors.school_applications (invalid
        choices are ignored: a stale link shows the whole list rather than an error)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "classroom": data.get("classroom"),
            "grade": data.get("grade"),
            "offering": data.get("offering"),
            "status": data.get("status") or "",
        }


class BillFilterForm(forms.Form):
    unpaid = forms.BooleanField(label=_("只看未缴清"), required=False)


class PaymentForm(forms.Form):
    term = forms.ModelChoiceField(label=_("学期"), queryset=Term.objects.none(), empty_label=None)
    amount = forms.DecimalField(
        label=_("金额（元）"), max_digits=8, decimal_places=2, min_value=Decimal("0.01")
    )
    method = forms.ChoiceField(label=_("方式"), choices=PaymentMethod.choices)
    paid_by = forms.CharField(label=_("缴费人"), max_length=50)
    paid_on = forms.DateField(
        label=_("缴费日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    reference = forms.CharField(
        label=_("凭证号"), max_length=60, required=False, help_text=_("转账流水号或收据号，现金可不填")
    )

    def __init__(self, *args, school, current_term: Term | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = Term.objects.filter(school=school).order_by("-starts_on")
        if current_term is not None:
            self.fields["term"].initial = current_term.pk
        self.fields["paid_on"].initial = timezone.localdate()
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"
