from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


def find_user_by_login(login: str):
    """The account a login names: a username, or an 11-digit mobile number."""
    login = (login or "").strip()
    if not login:
        return None
    user_model = get_user_model()
    return user_model.objects.filter(Q(username__iexact=login) | Q(phone=login)).order_by("pk").first()


class UsernameOrPhoneBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = find_user_by_login(username)
        if user is None:
            # Run the hasher anyway so a wrong login takes as long as a wrong password.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
