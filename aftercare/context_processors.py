from django.conf import settings

from .navigation import navigation_for


def portal(request):
    context = {"demo_banner": settings.AFTERCARE_DEMO_BANNER}
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        context.update(navigation_for(request))
    return context
