from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DefactoConfig(AppConfig):
    name = "django_defacto"
    label = "django_defacto"
    verbose_name = _("Defacto financing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import register_checks
        from .tasks import load_tasks

        register_checks()
        # Registers the tasks with Celery (the tasks package itself imports none, so that
        # settings may import its `schedule`).
        load_tasks()
