"""django-defacto's Celery tasks, all named `django_defacto.<verb>`.

The package owns no Celery app: `shared_task` binds them to the host's app, which finds
them through `app.autodiscover_tasks()`. Each module below is a noun.
"""

from .bulk_actions import (
    cancel_loans,
    change_repayment_dates,
    enroll_borrowers,
    record_terms_acceptances,
    refresh_borrowers,
    refresh_loans,
    validate_loans,
)

__all__ = [
    "cancel_loans",
    "change_repayment_dates",
    "enroll_borrowers",
    "record_terms_acceptances",
    "refresh_borrowers",
    "refresh_loans",
    "validate_loans",
]
