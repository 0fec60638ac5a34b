from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import views

admin.site.site_header = _("课后服务平台 · 后台管理")
admin.site.site_title = _("课后服务平台")

urlpatterns = [
    path("", views.home, name="home"),
    path("school/switch/", views.switch_school, name="switch-school"),
    path("join/", views.join, name="join"),
    path("", include("aftercare.core_urls")),
    path("school/roster/", include("aftercare.import_urls")),
    path("catalogue/", include("catalogue.urls")),
    path("enrollment/", include("enrollment.urls")),
    path("attendance/", include("attendance.urls")),
    path("pay/", include("compensation.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
