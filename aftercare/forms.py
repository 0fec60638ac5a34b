from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Relation, phone_validator
from .roles import STAFF_ROLES


class JoinForm(forms.Form):
    """A guardian without an account: invitation code plus the new account's details."""

    code = forms.CharField(
        label=_("邀请码"),
        max_length=20,
        help_text=_("班主任发放的8位邀请码"),
        widget=forms.TextInput(
            attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    relation = forms.ChoiceField(label=_("与学生的关系"), choices=Relation.choices)
    full_name = forms.CharField(
        label=_("您的姓名"), max_length=50, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    phone = forms.CharField(
        label=_("手机号码"),
        max_length=11,
        validators=[phone_validator],
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "tel"}),
    )
    username = forms.RegexField(
        label=_("用户名"),
        max_length=30,
        regex=r"^[A-Za-z0-9_.-]{3,30}$",
        error_messages={"invalid": _("用户名只能包含字母、数字、下划线、点和连字符，3到30个字符。")},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password1 = forms.CharField(
        label=_("密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), min_length=8
    )
    password2 = forms.CharField(
        label=_("再次输入密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return cleaned


class JoinAnotherChildForm(forms.Form):
    """A guardian already signed in links one more child."""

    code = forms.CharField(label=_("邀请码"), max_length=20)
    relation = forms.ChoiceField(label=_("与学生的关系"), choices=Relation.choices)


STAFF_ROLE_CHOICES = [(role.value, role.label) for role in STAFF_ROLES]


class StaffForm(forms.Form):
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    phone = forms.CharField(label=_("手机号码"), max_length=11, required=False, validators=[phone_validator])
    title = forms.CharField(label=_("职务"), max_length=50, required=False)
    roles = forms.MultipleChoiceField(
        label=_("角色"), choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


class StaffCreateForm(StaffForm):
    username = forms.RegexField(
        label=_("用户名"),
        max_length=30,
        regex=r"^[A-Za-z0-9_.-]{3,30}$",
        error_messages={"invalid": _("用户名只能包含字母、数字、下划线、点和连字符，3到30个字符。")},
    )
    password = forms.CharField(
        label=_("初始密码"),
        widget=forms.PasswordInput,
        min_length=8,
        help_text=_("请当面告知本人，并提醒尽快修改。"),
    )

    field_order = ["username", "full_name", "phone", "title", "roles", "password"]


class StaffEditForm(StaffForm):
    is_active = forms.BooleanField(label=_("在职"), required=False)
    new_password = forms.CharField(
        label=_("重设密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        required=False,
        min_length=8,
        help_text=_("留空则不修改。重设后请当面告知本人。"),
    )
