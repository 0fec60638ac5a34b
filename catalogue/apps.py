from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = _("课程与收费公示")

    def ready(self) -> None:
        from . import job_kinds  # noqa: F401  (registers the job handlers)
