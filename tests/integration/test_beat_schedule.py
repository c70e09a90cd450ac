"""The beat schedule a host merges: what runs when, under which task names, and that it
can be imported from settings and switched off."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings

from django_defacto.conf import defacto_settings
from django_defacto.schedule import beat_schedule
from example_project.celery import app

ROOT = Path(__file__).resolve().parents[2]
REDIS_VISIBILITY_TIMEOUT = 3600

PERIODIC = {
    "poll_pending_decisions",
    "sweep_seller_notifications",
    "sweep_stored_webhook_events",
    "reconcile_loans",
    "refresh_credit_lines",
    "sync_monthly_bills",
    "purge_webhook_events",
    "sweep_overdue_loans",
    "share_sales_histories",
}


def test_the_schedule_runs_each_sweep_under_its_task_name():
    schedule = beat_schedule()

    assert set(schedule) == {f"django_defacto.{name}" for name in PERIODIC}
    assert {entry["task"] for entry in schedule.values()} == {
        f"django_defacto.{name}" for name in PERIODIC
    }
    assert schedule["django_defacto.poll_pending_decisions"]["schedule"] == timedelta(seconds=10)
    sweep = schedule["django_defacto.sweep_seller_notifications"]["schedule"]
    assert sweep == timedelta(minutes=1)
    bills = schedule["django_defacto.sync_monthly_bills"]["schedule"]
    assert bills == crontab(hour=6, minute=0)  # daily; the task checks the day
    for name in (
        "reconcile_loans",
        "refresh_credit_lines",
        "purge_webhook_events",
        "share_sales_histories",
    ):
        daily = schedule[f"django_defacto.{name}"]["schedule"]
        assert isinstance(daily, crontab) and daily.day_of_month == set(range(1, 32))
        assert len(daily.hour) == 1
    hourly = schedule["django_defacto.sweep_overdue_loans"]["schedule"]
    assert hourly == crontab(minute=15)


def test_a_run_still_queued_when_the_next_is_due_expires():
    for entry in beat_schedule().values():
        expires = entry["options"]["expires"]
        schedule = entry["schedule"]
        every = schedule.total_seconds() if isinstance(schedule, timedelta) else 24 * 3600
        assert 0 < expires <= every


def test_another_prefix_renames_the_entries_not_the_tasks():
    schedule = beat_schedule(prefix="defacto-")

    assert "defacto-reconcile_loans" in schedule
    assert schedule["defacto-reconcile_loans"]["task"] == "django_defacto.reconcile_loans"


def test_every_scheduled_task_is_registered_with_the_hosts_celery_app():
    assert {entry["task"] for entry in beat_schedule().values()} <= set(app.tasks)
    assert "django_defacto.notify_seller" in app.tasks


def test_tasks_are_acknowledged_late_and_retries_stay_within_the_visibility_timeout():
    for name in [*PERIODIC, "notify_seller"]:
        task = app.tasks[f"django_defacto.{name}"]
        assert task.acks_late, name
    # A failed seller notification is tried again from the loan row by the sweep, never
    # by a countdown message a lost worker would take with it.
    notify = app.tasks["django_defacto.notify_seller"]
    assert not getattr(notify, "autoretry_for", ())
    assert defacto_settings().seller_notification_lease < REDIS_VISIBILITY_TIMEOUT


def test_the_example_project_merges_the_schedule():
    assert settings.CELERY_BEAT_SCHEDULE.keys() == beat_schedule().keys()


def _schedule_in_fresh_settings(**environment: str) -> list[str]:
    # A fresh interpreter, where settings import the schedule before Django is set up.
    code = (
        "import json, django; from django.conf import settings; "
        "print(json.dumps(sorted(settings.CELERY_BEAT_SCHEDULE)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "example_project.settings", **environment}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_settings_can_import_the_schedule_and_an_environment_switch_turns_it_off():
    assert _schedule_in_fresh_settings() == sorted(beat_schedule())
    assert _schedule_in_fresh_settings(DEFACTO_BEAT_SCHEDULE="0") == []


def test_the_old_import_path_still_works_and_says_where_the_schedule_went():
    sys.modules.pop("django_defacto.tasks.schedule", None)

    with pytest.warns(DeprecationWarning, match=r"from django_defacto\.schedule"):
        old = importlib.import_module("django_defacto.tasks.schedule")

    assert old.beat_schedule() == beat_schedule()
