"""Deprecated: the beat schedule is `django_defacto.schedule.beat_schedule`."""

from __future__ import annotations

import warnings

from ..schedule import TASK_PREFIX, beat_schedule

__all__ = ["TASK_PREFIX", "beat_schedule"]

warnings.warn(
    "django_defacto.tasks.schedule is deprecated: import beat_schedule from "
    "django_defacto.schedule instead.",
    DeprecationWarning,
    stacklevel=2,
)
