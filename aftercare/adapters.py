from allauth.account.adapter import DefaultAccountAdapter

from .auth_backends import find_user_by_login


class AccountAdapter(DefaultAccountAdapter):
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
