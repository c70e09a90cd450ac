"""The example marketplace's Celery app; django_defacto's tasks register on it.

Run a worker with its beat (the periodic tasks) next to manage.py:

    celery -A example_project worker -B -l info

`make demo` starts one for you. The broker comes from `CELERY_BROKER_URL` (settings.py):
files under `.celery/` by default, `redis://...` or `amqp://...` in production.
"""

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

app = Celery("example_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_FILESYSTEM_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@app.on_after_configure.connect
def create_broker_folders(sender: Celery, **kwargs: Any) -> None:
    """The filesystem transport expects its folders to exist: make them on first use."""
    if not str(sender.conf.broker_url or "").startswith("filesystem://"):
        return
    options = sender.conf.broker_transport_options or {}
    for key in _FILESYSTEM_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
