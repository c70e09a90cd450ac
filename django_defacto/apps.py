from django.apps import AppConfig


class DefactoConfig(AppConfig):
    name = "django_defacto"
    label = "django_defacto"
    verbose_name = "Defacto financing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import register_checks

        register_checks()
