from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompensationConfig(AppConfig):
    name = "compensation"
    verbose_name = _("课后服务酬金")

    def ready(self) -> None:
        from . import job_kinds  # noqa: F401  (register the job handlers)
