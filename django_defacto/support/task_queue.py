"""Queueing a Celery task by its name, so that services never import the tasks (which
import the services)."""

from __future__ import annotations

from typing import Any

from celery import current_app


def queue_task(name: str, *args: Any) -> None:
    """Send the task `name` with `args` through the host's Celery app: as the registered
    task when Django's `ready()` has loaded it (so `task_always_eager` still applies), by
    name otherwise."""
    task = current_app.tasks.get(name)
    if task is not None:
        task.delay(*args)
    else:
        current_app.send_task(name, args=args)
