import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .permissions import access_for

SIGNED_IN_AT = "aftercare_signed_in_at"
LAST_SEEN_AT = "aftercare_last_seen_at"
LAST_SEEN_RESOLUTION_SECONDS = 60


class SessionLifetimeMiddleware:
    """Staff sessions end after 30 minutes idle or 12 hours in all; parents' last longer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            now = int(time.time())
            session = request.session
            signed_in_at = session.setdefault(SIGNED_IN_AT, now)
            last_seen_at = session.get(LAST_SEEN_AT, now)
            if access_for(user).is_staff_like:
                idle = now - last_seen_at > settings.AFTERCARE_STAFF_IDLE_SECONDS
                too_long = now - signed_in_at > settings.AFTERCARE_STAFF_ABSOLUTE_SECONDS
                if idle or too_long:
                    logout(request)
                    messages.info(request, _("为了保护学生信息，长时间未操作后需要重新登录。"))
                    return redirect(f"{reverse('account_login')}?next={request.path}")
                expiry = settings.AFTERCARE_STAFF_IDLE_SECONDS
            else:
                expiry = settings.AFTERCARE_PARENT_IDLE_SECONDS
            # Write the session only when something changed or a minute has passed, not on every request.
            if session.get("_session_expiry") != expiry:
                session.set_expiry(expiry)
            if LAST_SEEN_AT not in session or now - last_seen_at >= LAST_SEEN_RESOLUTION_SECONDS:
                session[LAST_SEEN_AT] = now
        return self.get_response(request)


TWO_FACTOR_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/media/")


class RequireTwoFactorMiddleware:
    """Principals, administrators, finance and district officers set up TOTP before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.AFTERCARE_REQUIRE_TWO_FACTOR
            and request.user.is_authenticated
            and not request.path.startswith(TWO_FACTOR_EXEMPT_PREFIXES)
            and access_for(request.user).needs_two_factor
            and not has_totp(request.user)
        ):
            messages.warning(request, _("您的角色需要先开启两步验证（TOTP）才能继续使用。"))
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def has_totp(user) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class NoStoreForSignedInMiddleware:
    """Pages for a signed-in user show children's data: never keep them in a cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        return response
