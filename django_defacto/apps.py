from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DefactoConfig(AppConfig):
    name = "django_defacto"
    label = "django_defacto"
    verbose_name = _("Defacto financing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import register_checks

        register_checks()
        # Importing the task modules registers the tasks with the host's Celery app.
        from .tasks import (  # noqa: F401
            bulk_actions,
            eligibility,
            notifications,
            periodic,
            sales_history,
            webhooks,
        )
