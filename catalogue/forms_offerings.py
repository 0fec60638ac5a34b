"""Forms of the offering pages: input parsing and field checks; the rules live in catalogue.services."""

from decimal import ROUND_UP, Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.models import Grade

from . import selectors
from .calendar_rules import WEEKDAY_NAMES
from .models import Domain, FeeMode, Offering, OfferingKind, OfferingStatus, Provider, SlotKind
from .services import NO_DOMAIN, NO_GRADES

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# What phones and cameras produce; Pillow also opens formats browsers cannot show (TIFF, BMP, ...).
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}

FEE_AMOUNT_MISSING = _("按次或按学期收费时，请填写收费金额。")
FEE_AMOUNT_ZERO = _("收费金额为 0 时，请选择“免费”。")
PHOTO_TOO_LARGE = _("照片不能超过 5 MB（所选文件 %(size)s MB）。")
PHOTO_WRONG_FORMAT = _("请上传 JPG、PNG 或 WebP 格式的图片。")
COURSE_NAME_TAKEN = _("本学期已有名为“%(name)s”的特色课程。")
STAFF_WITHOUT_PROVIDER = _("选择了机构授课人员，请同时选择其所属的提供方。")
STAFF_OF_OTHER_PROVIDER = _("%(names)s 不属于提供方“%(provider)s”。")
NO_WEEKDAY = _("请至少选择一个上课日。")

ALL = ("", _("全部"))


class FeeFieldsMixin:
    """Fee mode and amount: free means 0.00; a priced mode needs an amount above zero."""

    def check_fees(self, cleaned: dict) -> None:
        mode, amount = cleaned.get("fee_mode"), cleaned.get("fee_amount")
        if mode == FeeMode.FREE:
            cleaned["fee_amount"] = Decimal("0.00")
        elif mode and amount is None and "fee_amount" not in self.errors:
            self.add_error("fee_amount", FEE_AMOUNT_MISSING)
        elif mode and amount == 0:
            self.add_error("fee_amount", FEE_AMOUNT_ZERO)


def _megabytes(size: int) -> Decimal:
    # Rounded up: a file just over the limit must not read "5.0 MB".
    return (Decimal(size) / (1024 * 1024)).quantize(Decimal("0.1"), rounding=ROUND_UP)


def fee_mode_field():
    return forms.ChoiceField(
        label=_("收费方式"), choices=FeeMode.choices, initial=FeeMode.FREE, widget=forms.RadioSelect
    )


def fee_amount_field():
    return forms.DecimalField(
        label=_("收费金额（元）"),
        required=False,
        min_value=Decimal("0"),
        max_digits=8,
        decimal_places=2,
        help_text=_("按次收费填每次的金额，按学期收费填一学期的金额；免费时不填。"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class BasicCareForAllForm(FeeFieldsMixin, forms.Form):
    """The few settings shared by every class's basic care when it is opened for all classes."""

    capacity = forms.IntegerField(label=_("每班容纳人数"), min_value=1, max_value=200, initial=60)
    fee_mode = fee_mode_field()
    fee_amount = fee_amount_field()

    def clean(self):
        cleaned = super().clean()
        self.check_fees(cleaned)
        return cleaned


class TeacherChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class ProviderStaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name}（{obj.provider.name}）"


class OfferingForm(FeeFieldsMixin, forms.Form):
    """A featured course (every field), or one class's basic care (no domain, grades or provider:
    its grade is the class's and it is led by the school's own teachers)."""

    name = forms.CharField(label=_("名称"), max_length=60)
    description = forms.CharField(
        label=_("内容介绍"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    domain = forms.ChoiceField(
        label=_("领域"),
        choices=[("", _("请选择")), *Domain.choices],
        error_messages={"required": NO_DOMAIN},
    )
    grades = forms.TypedMultipleChoiceField(
        label=_("面向年级"),
        coerce=int,
        choices=Grade.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-row"}),
        error_messages={"required": NO_GRADES},
    )
    capacity = forms.IntegerField(label=_("容纳人数"), min_value=1, max_value=500)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("上课日"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-row"}),
        error_messages={"required": NO_WEEKDAY},
        help_text=_("只列出本学期校历中的服务日。"),
    )
    slot_kind = forms.ChoiceField(label=_("时段"), choices=SlotKind.choices, initial=SlotKind.AFTER_SCHOOL)
    place = forms.CharField(
        label=_("地点"),
        max_length=60,
        required=False,
        help_text=_("如：本班教室、操场、功能室"),
        widget=forms.TextInput(attrs={"list": "place-suggestions"}),
    )
    teachers = TeacherChoiceField(
        label=_("授课教师"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-scroll"}),
        help_text=_("本校在职的课后服务教师和班主任。"),
    )
    provider = forms.ModelChoiceField(
        label=_("提供方"),
        queryset=None,
        required=False,
        empty_label=_("本校开设（无校外提供方）"),
    )
    provider_staff = ProviderStaffChoiceField(
        label=_("机构授课人员"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-scroll"}),
    )
    fee_mode = fee_mode_field()
    fee_amount = fee_amount_field()
    photo = forms.ImageField(
        label=_("照片"),
        required=False,
        help_text=_("JPG、PNG 或 WebP，不超过 5 MB。"),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_photo = forms.BooleanField(label=_("删除现有照片"), required=False)

    def __init__(self, *args, term, offering: Offering | None = None, **kwargs):
        self.term = term
        self.offering = offering
        teacher_ids = list(offering.teachers.values_list("pk", flat=True)) if offering is not None else []
        if offering is not None:
            kwargs.setdefault("initial", initial_for(offering, teacher_ids=teacher_ids))
        super().__init__(*args, **kwargs)
        self.is_course = offering is None or offering.is_course
        self.current_photo = offering.photo if offering is not None and offering.photo else None
        if self.current_photo is None:
            del self.fields["remove_photo"]
        # Whoever teaches the offering stays a choice, so saving never drops them unseen.
        self.fields["teachers"].queryset = selectors.teacher_choices(term.school, keep_ids=teacher_ids)
        self.fields["weekdays"].choices = [(d, WEEKDAY_NAMES[d]) for d in sorted(term.service_weekdays)]
        if self.is_course:
            self.fields["provider"].queryset = Provider.objects.filter(school=term.school).order_by("name")
            self.fields["provider_staff"].queryset = selectors.provider_staff_choices(term.school).order_by(
                "provider__name", "name"
            )
        else:
            for name in ("domain", "grades", "provider", "provider_staff"):
                del self.fields[name]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.is_course:
            # As a ModelForm's unique check would; the database constraint still backs it.
            same_name = Offering.objects.filter(term=self.term, kind=OfferingKind.COURSE, name=name)
            if self.offering is not None:
                same_name = same_name.exclude(pk=self.offering.pk)
            if same_name.exists():
                raise forms.ValidationError(COURSE_NAME_TAKEN % {"name": name})
        return name

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        # ``image`` is set only on a new upload (forms.ImageField has opened it with Pillow).
        image = getattr(photo, "image", None)
        if image is None:
            return photo
        if photo.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(PHOTO_TOO_LARGE % {"size": _megabytes(photo.size)})
        if image.format not in PHOTO_FORMATS:
            raise forms.ValidationError(PHOTO_WRONG_FORMAT)
        return photo

    def clean(self):
        cleaned = super().clean()
        self.check_fees(cleaned)
        staff = cleaned.get("provider_staff")
        provider = cleaned.get("provider")
        if staff and provider is None:
            self.add_error("provider_staff", STAFF_WITHOUT_PROVIDER)
        elif staff:
            strangers = [member.name for member in staff if member.provider_id != provider.pk]
            if strangers:
                self.add_error(
                    "provider_staff",
                    STAFF_OF_OTHER_PROVIDER % {"names": "、".join(strangers), "provider": provider.name},
                )
        return cleaned

    def service_arguments(self) -> dict:
        """The cleaned data as the keyword arguments of offering_create / offering_update."""
        data = dict(self.cleaned_data)
        data["teachers"] = list(data["teachers"])
        if "provider_staff" in data:
            data["provider_staff"] = list(data["provider_staff"])
        photo = data.pop("photo")
        if getattr(photo, "image", None) is not None:
            data["photo"] = photo
        elif data.pop("remove_photo", False):
            data["photo"] = ""
        data.pop("remove_photo", None)
        return data


def initial_for(offering: Offering, *, teacher_ids: list[int]) -> dict:
    return {
        "name": offering.name,
        "description": offering.description,
        "domain": offering.domain,
        "grades": offering.grades,
        "capacity": offering.capacity,
        "weekdays": offering.weekdays,
        "slot_kind": offering.slot_kind,
        "place": offering.place,
        "teachers": teacher_ids,
        "provider": offering.provider_id,
        "provider_staff": list(offering.provider_staff.values_list("pk", flat=True)),
        "fee_mode": offering.fee_mode,
        "fee_amount": offering.fee_amount if offering.fee_mode != FeeMode.FREE else None,
    }


class OfferingFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=[ALL, *OfferingKind.choices], required=False)
    status = forms.ChoiceField(label=_("状态"), choices=[ALL, *OfferingStatus.choices], required=False)
    domain = forms.ChoiceField(label=_("领域"), choices=[ALL, *Domain.choices], required=False)
