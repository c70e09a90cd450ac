"""The admin's bulk actions: confirm on a page of their own, then run one service call per
selected row and report each row's outcome, or hand many rows to a Celery task.

An action is declared once as a `BulkAction` and wired to a ModelAdmin method decorated
with `@admin.action(permissions=[...])`; the admin itself only parses, checks permission,
calls and presents. The confirmation page posts the selection back to the change list with
the admin's own `action` / `_selected_action` fields plus `post=yes`, so the admin checks
the action's permission again before anything runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.db import models, transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext

from ..conf import defacto_settings
from ..exceptions import DefactoServiceError

logger = logging.getLogger(__name__)

CONFIRMED = "yes"


def _no_task_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {}


def status_now(result: Any) -> str:
    """The outcome of an action in words: the row's status after it."""
    return gettext("now %(status)s") % {"status": result.get_status_display()}


@dataclass(frozen=True)
class BulkAction:
    """One admin action over the selected rows.

    `run(obj, data)` makes the one service call for one row (`data` is the cleaned
    form, or empty); `outcome(result)` says in words what happened; `task` is the Celery
    task that does the same for a list of ids, given `task_kwargs(data)` (JSON values).
    """

    name: str
    title: str | Promise
    intro: str | Promise
    button: str | Promise
    run: Callable[[Any, dict[str, Any]], Any]
    task: Any
    outcome: Callable[[Any], str] = status_now
    task_kwargs: Callable[[dict[str, Any]], dict[str, Any]] = _no_task_kwargs
    form_class: type[forms.Form] | None = None
    # What the row's admin history records of `result`; None when nothing changed. The
    # task then also takes `user_id`, to record it under the staff member who asked.
    history: Callable[[Any], str | None] | None = None


def background_threshold() -> int:
    """More selected rows than this go to a Celery task instead of holding the request."""
    return defacto_settings().admin_background_threshold


def row_label(modeladmin: admin.ModelAdmin, obj: models.Model) -> str:
    label = getattr(modeladmin, "action_row_label", None)
    return label(obj) if label else str(obj)


def confirm_and_run(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: models.QuerySet,
    action: BulkAction,
) -> TemplateResponse | None:
    """The confirmation page on first call; once confirmed (and its form valid), the
    action itself. Returns None (back to the change list) once done."""
    rows = list(queryset)
    confirmed = request.POST.get("post") == CONFIRMED
    form = None
    if action.form_class is not None:
        form = action.form_class(request.POST if confirmed else None)
    if not confirmed or (form is not None and not form.is_valid()):
        return confirmation_page(modeladmin, request, rows, action, form)
    data = form.cleaned_data if form is not None else {}
    if len(rows) > background_threshold():
        run_in_background(modeladmin, request, rows, action, data)
    else:
        run_each(modeladmin, request, rows, action, data)
    return None


def run_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    rows: list[models.Model],
    action: BulkAction,
    data: dict[str, Any],
) -> None:
    """Run the action on each row in turn; one row's failure never stops the others."""
    for obj in rows:
        label = row_label(modeladmin, obj)
        try:
            result = action.run(obj, data)
        except DefactoServiceError as error:
            modeladmin.message_user(
                request,
                gettext("%(object)s: %(message)s") % {"object": label, "message": error.message},
                messages.ERROR,
            )
        except Exception:
            # A bug must not turn the whole batch into an error page; it is logged in full.
            logger.exception("Admin action %s failed on %r", action.name, obj.pk)
            modeladmin.message_user(
                request,
                gettext("%(object)s: an unexpected error occurred; it has been logged.")
                % {"object": label},
                messages.ERROR,
            )
        else:
            change = action.history(result) if action.history else None
            if change:
                modeladmin.log_change(request, obj, change)
            modeladmin.message_user(
                request,
                gettext("%(object)s: %(outcome)s")
                % {"object": label, "outcome": action.outcome(result)},
                messages.SUCCESS,
            )


def run_in_background(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    rows: list[models.Model],
    action: BulkAction,
    data: dict[str, Any],
) -> None:
    """Queue the task once the request's transaction commits, so the worker reads rows
    as they are then."""
    ids = [str(obj.pk) for obj in rows]
    kwargs = action.task_kwargs(data)
    if action.history is not None:
        kwargs["user_id"] = request.user.pk
    transaction.on_commit(lambda: action.task.delay(ids, **kwargs))
    modeladmin.message_user(
        request,
        ngettext(
            "%(action)s: %(count)d %(objects)s will be handled in the background; "
            "reload this page in a moment to see the outcome.",
            "%(action)s: %(count)d %(objects)s will be handled in the background; "
            "reload this page in a moment to see the outcome.",
            len(ids),
        )
        % {
            "action": action.title,
            "count": len(ids),
            "objects": model_ngettext(modeladmin.opts, len(ids)),
        },
        messages.INFO,
    )


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    rows: list[models.Model],
    action: BulkAction,
    form: forms.Form | None,
) -> TemplateResponse:
    opts = modeladmin.opts
    media = modeladmin.media + (form.media if form is not None else forms.Media())
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": action.title,
        "subtitle": None,
        "intro": action.intro,
        "button": action.button,
        "rows": [(obj, row_label(modeladmin, obj)) for obj in rows],
        "objects_name": model_ngettext(opts, len(rows)),
        "in_background": len(rows) > background_threshold(),
        "form": form,
        "action_name": action.name,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": opts,
        "app_label": opts.app_label,
        "media": media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        [
            f"admin/{opts.app_label}/{opts.model_name}/action_confirmation.html",
            f"admin/{opts.app_label}/action_confirmation.html",
        ],
        context,
    )
