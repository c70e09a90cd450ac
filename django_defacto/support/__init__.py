"""Leaf helpers shared by every layer: formatting of money and days, Defacto's page size,
the webhook URL's token, queueing a task by name. They import nothing from the services,
the entry points or the models, so anything may use them (the logging filter even while
the settings load)."""
