from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "example_project.marketplace"
    label = "marketplace"
    verbose_name = "Example marketplace"
