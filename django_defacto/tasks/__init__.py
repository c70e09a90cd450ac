"""django-defacto's Celery tasks, all named `django_defacto.<verb>`.

The package owns no Celery app: `shared_task` binds them to the host's app. Each module
below is a noun. The modules are imported when Django is ready (`DefactoConfig.ready`),
not by this package's import, so settings can import `django_defacto.tasks.schedule`
before the app registry exists; `from django_defacto.tasks import validate_loans` still
works (the name is looked up on first use).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Each task module, and the tasks it defines.
TASK_MODULES: dict[str, tuple[str, ...]] = {
    "bulk_actions": (
        "cancel_loans",
        "change_repayment_dates",
        "enroll_borrowers",
        "record_terms_acceptances",
        "refresh_borrowers",
        "refresh_loans",
        "settle_loan_requests",
        "validate_loans",
    ),
    "webhooks": (
        "process_webhook_event",
        "reprocess_webhook_events",
        "sweep_stored_webhook_events",
    ),
    "periodic": (
        "poll_pending_decisions",
        "purge_webhook_events",
        "reconcile_loans",
        "refresh_credit_lines",
        "sync_monthly_bills",
    ),
    "notifications": ("notify_seller", "sweep_seller_notifications"),
}

__all__ = sorted(name for names in TASK_MODULES.values() for name in names)


def load_tasks() -> None:
    """Import every task module, which registers its tasks with Celery."""
    for module in TASK_MODULES:
        import_module(f"{__name__}.{module}")


def __getattr__(name: str) -> Any:
    for module, names in TASK_MODULES.items():
        if name in names:
            return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
