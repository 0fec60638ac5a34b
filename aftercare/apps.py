from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftercareConfig(AppConfig):
    name = "aftercare"
    verbose_name = _("学校与账户")

    def ready(self) -> None:
        from . import job_kinds, roster_import  # noqa: F401  (register the job handlers)
