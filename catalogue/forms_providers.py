"""Input of the provider pages: a school's filing, its staff, and the district's vetting."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CertificateType, Provider, ProviderKind, ProviderStaffMember, VettingStatus
from .selectors import provider_staff_user_choices


class ProviderForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=ProviderKind.choices, widget=forms.RadioSelect)
    name = forms.CharField(label=_("名称"), max_length=100)
    licence_number = forms.CharField(
        label=_("办学许可证/营业执照号"),
        max_length=60,
        required=False,
        help_text=_("校外机构必填；变更后需重新经教育局审核。"),
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)

    @classmethod
    def initial_for(cls, provider: Provider) -> dict:
        return {name: getattr(provider, name) for name in cls.base_fields}


class LinkedUserField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.display_name}（{obj.username}）"


class ProviderStaffForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    certificate_type = forms.ChoiceField(label=_("证书类型"), choices=CertificateType.choices)
    certificate_number = forms.CharField(label=_("证书编号"), max_length=60, required=False)
    certificate_expires_on = forms.DateField(
        label=_("证书有效期至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("证书过期后，此人授课的课程不能发布。"),
    )
    user = LinkedUserField(
        label=_("登录账户"),
        queryset=None,
        required=False,
        empty_label=_("（不关联）"),
        help_text=_("关联后，此人可用该账户登录查看自己的课程。可选的是本校具有“机构人员”角色的教职工账户。"),
    )

    def __init__(self, *args, provider: Provider, member: ProviderStaffMember | None = None, **kwargs):
        if member is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": member.name,
                    "certificate_type": member.certificate_type,
                    "certificate_number": member.certificate_number,
                    "certificate_expires_on": member.certificate_expires_on,
                    "user": member.user_id,
                },
            )
        super().__init__(*args, **kwargs)
        if provider.kind == ProviderKind.INSTITUTION:
            # Institutions' staff hold a teacher's or professional certificate (篇八).
            self.fields["certificate_type"].choices = [
                choice for choice in CertificateType.choices if choice[0] != CertificateType.NONE
            ]
        self.fields["user"].queryset = provider_staff_user_choices(
            provider.school_id, keep_user_id=member.user_id if member is not None else None
        )


class VettingForm(forms.Form):
    status = forms.ChoiceField(label=_("审核结果"), choices=VettingStatus.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("审核意见"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("学校可以看到。暂停时必填。"),
    )


STATUS_FILTER_CHOICES = [("", _("全部（待审核在前）")), *VettingStatus.choices]


class VettingStatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("审核状态"),
        choices=STATUS_FILTER_CHOICES,
        required=False,
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )
