from allauth.account.adapter import DefaultAccountAdapter
from django.utils.translation import gettext_lazy as _

from .auth_backends import find_user_by_login

WRONG_LOGIN = _("用户名（或手机号）或密码不正确。")
TOO_MANY_ATTEMPTS = _("这个账户的密码错误次数过多，请5分钟后再试；忘记密码请联系学校管理员。")


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": WRONG_LOGIN,
        "too_many_login_attempts": TOO_MANY_ATTEMPTS,
    }

    def is_open_for_signup(self, request) -> bool:
        # Staff accounts are created by the school; parents join with a child's invitation code.
        return False

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # Count wrong passwords per account, whether it was named by username or by phone number.
        login = credentials.get("username", "")
        user = find_user_by_login(login)
        if user is not None:
            return f"user:{user.pk}"
        return f"login:{login.strip().lower()}"


def user_display(user) -> str:
    return user.display_name
