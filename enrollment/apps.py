from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("报名")

    def ready(self) -> None:
        from . import export_jobs, job_kinds  # noqa: F401  (register the job handlers)
