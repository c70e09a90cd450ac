"""What staff do in the admin, as test steps: run an action through its confirmation page,
read the messages a page reports."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import models
from django.test import Client
from django.urls import reverse

_staff_numbers = itertools.count(1)


def staff_client(*codenames: str) -> Client:
    """A logged-in staff member holding only these django_defacto permissions."""
    user = get_user_model().objects.create_user(
        f"staff{next(_staff_numbers)}", password="pw", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="django_defacto", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def changelist_url(model_name: str) -> str:
    return reverse(f"admin:django_defacto_{model_name}_changelist")


def change_url(obj: models.Model) -> str:
    return reverse(f"admin:django_defacto_{obj._meta.model_name}_change", args=[obj.pk])


def choose_action(client: Client, action: str, rows: Iterable[models.Model]) -> Any:
    """Tick `rows` on the change list and pick `action`: the confirmation page."""
    rows = list(rows)
    return client.post(
        changelist_url(rows[0]._meta.model_name),
        {"action": action, ACTION_CHECKBOX_NAME: [str(row.pk) for row in rows]},
    )


def confirm_action(client: Client, action: str, rows: Iterable[models.Model], **fields: Any) -> Any:
    """Submit the confirmation page of `action` for `rows` (with its form's `fields`)."""
    rows = list(rows)
    return client.post(
        changelist_url(rows[0]._meta.model_name),
        {
            "action": action,
            ACTION_CHECKBOX_NAME: [str(row.pk) for row in rows],
            "post": "yes",
            **fields,
        },
    )


def run_action(client: Client, action: str, rows: Iterable[models.Model], **fields: Any) -> Any:
    """Pick the action, check its confirmation page lists every row, confirm it."""
    rows = list(rows)
    page = choose_action(client, action, rows)
    assert page.status_code == 200, page.content[:500]
    for row in rows:
        assert f'value="{row.pk}"' in page.content.decode()
    return confirm_action(client, action, rows, **fields)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def action_names(client: Client, model_name: str) -> list[str]:
    """The actions the change list offers to the logged-in user."""
    response = client.get(changelist_url(model_name))
    assert response.status_code == 200
    form = response.context["action_form"]
    if form is None:
        return []
    return [name for name, _label in form.fields["action"].choices if name]
