"""The one write path for mirrored models: Defacto payloads in, local rows up to date.

Race-safe the dj-stripe way: look up by `defacto_id` under a row lock, else create in a
savepoint and, when a concurrent writer won (IntegrityError), lock theirs and update it.
Statuses only move forward (see `StatusFlow`): a stale or repeated payload is ignored,
so webhooks, polls and syncs can arrive in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ...models.base import MirroredModel

M = TypeVar("M", bound=MirroredModel)
Payload = dict[str, Any]
# Columns that depend on other local rows (foreign keys), computed once per page.
Relations = Callable[[Sequence[Payload]], Callable[[Payload], dict[str, Any]]]

AUDIT_FIELDS = ("raw", "synced_at", "updated_at")


@dataclass
class Applied:
    """What applying one payload did to one row."""

    instance: Any
    created: bool = False
    changed: bool = False
    stale: bool = False
    old_status: str | None = None
    # The row took the payload's Defacto id now (a local request Defacto answered).
    linked: bool = False

    @property
    def new_status(self) -> str | None:
        return getattr(self.instance, "status", None)

    @property
    def status_changed(self) -> bool:
        return self.created or (self.old_status is not None and self.old_status != self.new_status)


def merge_payload(
    instance: MirroredModel, payload: Payload, columns: dict[str, Any], now: datetime
) -> Applied:
    """Set `columns` on `instance` in memory unless the payload would move its status
    backwards; the caller saves (or bulk-updates) the changed fields."""
    flow = type(instance).status_flow
    old_status = getattr(instance, "status", None)
    new_status = columns.get("status")
    if (
        flow is not None
        and new_status not in (None, old_status)
        and not flow.allows(old_status or "", new_status)
    ):
        return Applied(instance, stale=True, old_status=old_status)
    changed = linked = False
    for name, value in columns.items():
        if name in instance.kept_once_set and _is_set(instance, name):
            continue
        if _differs(instance, name, value):
            setattr(instance, name, value)
            changed = True
    if instance.defacto_id is None and payload.get("id"):
        instance.defacto_id = str(payload["id"])
        changed = linked = True
    # A field without a column of its own changing is still news from Defacto.
    changed = changed or instance.raw != payload
    instance.raw = payload
    instance.synced_at = now
    instance.updated_at = now
    return Applied(instance, changed=changed, old_status=old_status, linked=linked)


def _own_field(instance: MirroredModel, name: str) -> models.Field[Any, Any]:
    """The model's field named `name` (FieldDoesNotExist if none). The columns a payload
    sets are the model's own fields, never a reverse relation nor a generic relation."""
    return cast("models.Field[Any, Any]", instance._meta.get_field(name))


def _is_set(instance: MirroredModel, name: str) -> bool:
    field = _own_field(instance, name)
    return getattr(instance, field.attname) is not None


def _differs(instance: MirroredModel, name: str, value: Any) -> bool:
    field: models.Field[Any, Any] | None
    try:
        field = _own_field(instance, name)
    except FieldDoesNotExist:
        field = None
    if field is not None and field.many_to_one:
        # Compare the ids: reading the related object would cost a query per row.
        return getattr(instance, field.attname) != (value.pk if value is not None else None)
    return getattr(instance, name) != value


def save_merged(applied: Applied, fields: Iterable[str]) -> None:
    applied.instance.save(update_fields=[*fields, *AUDIT_FIELDS, "defacto_id"])


def upsert(
    model: type[M],
    payload: Payload,
    *,
    extra: dict[str, Any] | None = None,
    existing: M | None = None,
    also: Callable[[Applied], dict[str, Any]] | None = None,
) -> Applied:
    """Create or update the row of `model` for `payload` (which must carry an `id`).

    `existing` is a local row Defacto did not know yet (a loan request) that the payload
    is about; it takes the payload's id, and the related rows it has loaded. `also` gives
    more columns from the merged row (a stale payload's too), saved in the same write.
    Runs in its own transaction, or in the caller's.
    """
    payload = model.storable(payload)
    defacto_id = str(payload["id"])
    columns = {**model.columns_from_payload(payload), **(extra or {})}
    now = timezone.now()
    manager = model._default_manager
    with transaction.atomic(savepoint=False):
        if existing is None:
            instance = manager.select_for_update().filter(defacto_id=defacto_id).first()
        else:
            # One lookup for both: the row with the payload's id wins over the request.
            rows = manager.select_for_update().filter(
                models.Q(defacto_id=defacto_id) | models.Q(pk=existing.pk)
            )
            found = {row.defacto_id == defacto_id: row for row in rows}
            instance = found.get(True) or found.get(False)
            if instance is not None and instance.pk == existing.pk:
                _keep_loaded_relations(instance, existing)
        if instance is None:
            created = model(defacto_id=defacto_id, raw=payload, synced_at=now, **columns)
            applied = Applied(created, created=True, changed=True)
            for name, value in (also(applied) if also else {}).items():
                setattr(created, name, value)
            try:
                with transaction.atomic():
                    created.save(force_insert=True)
                return applied
            except IntegrityError:
                instance = manager.select_for_update().filter(defacto_id=defacto_id).first()
                if instance is None:
                    # Not a concurrent writer: another constraint refused the row.
                    raise
        applied = merge_payload(instance, payload, columns, now)
        more = also(applied) if also else {}
        for name, value in more.items():
            setattr(instance, name, value)
        if not applied.stale:
            save_merged(applied, [*columns, *more])
        elif more:
            update_fields(instance, **more)
        return applied


def _keep_loaded_relations(fresh: MirroredModel, loaded: MirroredModel) -> None:
    """Give the freshly read row the related rows `loaded` holds where they are the same
    rows, so that showing it does not read them again."""
    for field in fresh._meta.concrete_fields:
        if (
            isinstance(field, models.ForeignKey)
            and field.is_cached(loaded)
            and getattr(fresh, field.attname) == getattr(loaded, field.attname)
        ):
            field.set_cached_value(fresh, field.get_cached_value(loaded))


@dataclass
class PageResult:
    applied: list[Applied]
    failed: list[tuple[Payload, Exception]]

    @property
    def created(self) -> int:
        return sum(1 for item in self.applied if item.created)

    @property
    def updated(self) -> int:
        return sum(1 for item in self.applied if item.changed and not item.created)

    @property
    def unchanged(self) -> int:
        return sum(1 for item in self.applied if not item.changed)


def _supersedes(model: type[MirroredModel], payload: Payload, kept: Payload) -> bool:
    """Whether `payload` should replace `kept`, another copy of the same object in one
    page: the later copy, unless its status is behind the kept one's."""
    flow = model.status_flow
    old, new = kept.get("status"), payload.get("status")
    if flow is None or old == new or not isinstance(old, str) or not isinstance(new, str):
        return True
    return flow.allows(old, new)


def upsert_page(
    model: type[M],
    payloads: Sequence[Payload],
    *,
    relations: Relations | None = None,
    adopt: Callable[[Sequence[Payload]], dict[str, M]] | None = None,
) -> PageResult:
    """Upsert one page of payloads with a constant number of queries.

    `relations` computes the foreign-key columns of a page in one go; `adopt` maps
    payload ids to local rows that Defacto did not know yet (loan requests). A row that
    a concurrent writer created meanwhile falls back to the one-by-one `upsert`.
    """
    by_id: dict[str, Payload] = {}
    for payload in map(model.storable, payloads):
        if payload.get("id"):
            key = str(payload["id"])
            if key not in by_id or _supersedes(model, payload, by_id[key]):
                by_id[key] = payload
    if not by_id:
        return PageResult([], [])
    extra_for = relations(list(by_id.values())) if relations else (lambda payload: {})
    now = timezone.now()
    applied: list[Applied] = []
    failed: list[tuple[Payload, Exception]] = []
    with transaction.atomic():
        manager = model._default_manager
        rows = {
            row.defacto_id: row
            for row in manager.select_for_update().filter(defacto_id__in=list(by_id))
        }
        adopted = adopt([by_id[key] for key in by_id if key not in rows]) if adopt else {}
        to_update: list[Applied] = []
        to_create: list[tuple[Payload, M]] = []
        fields: set[str] = set()
        for defacto_id, payload in by_id.items():
            try:
                columns = {**model.columns_from_payload(payload), **extra_for(payload)}
            except (TypeError, ValueError) as error:
                failed.append((payload, error))
                continue
            fields.update(columns)
            row = rows.get(defacto_id) or adopted.get(defacto_id)
            if row is None:
                to_create.append(
                    (payload, model(defacto_id=defacto_id, raw=payload, synced_at=now, **columns))
                )
                continue
            result = merge_payload(row, payload, columns, now)
            applied.append(result)
            # A payload that brings nothing new writes nothing: a repeated sync leaves
            # rows (and their `updated_at`) untouched.
            if result.changed and not result.stale:
                to_update.append(result)
        if to_update:
            manager.bulk_update(
                [item.instance for item in to_update],
                sorted({*fields, *AUDIT_FIELDS, "defacto_id"}),
            )
        if to_create:
            try:
                with transaction.atomic():
                    created = manager.bulk_create([row for _, row in to_create])
                applied.extend(Applied(row, created=True, changed=True) for row in created)
            except IntegrityError:
                for payload, row in to_create:
                    extra = {name: getattr(row, name) for name in extra_for(payload)}
                    applied.append(upsert(model, payload, extra=extra))
    return PageResult(applied, failed)


def update_fields(instance: models.Model, **values: Any) -> None:
    """Set and save only `values` (plus `updated_at` when the model has it)."""
    for name, value in values.items():
        setattr(instance, name, value)
    names = list(values)
    if any(field.name == "updated_at" for field in instance._meta.concrete_fields):
        names.append("updated_at")
    instance.save(update_fields=names)
