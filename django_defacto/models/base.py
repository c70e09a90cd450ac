"""What every mirror of a Defacto object has: its id there, the last payload, when synced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

from django.db import models
from django.utils.translation import gettext_lazy as _

from .statuses import StatusFlow

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable
    from django_stubs_ext import StrOrPromise

    # What django-stubs lets an integer column be set to; reading it gives an int.
    _IntegerSet = float | int | str | Combinable

CURRENCY_MAX_LENGTH = 3


@overload
def money_field(
    verbose_name: StrOrPromise, *, null: Literal[False] = ..., **options: Any
) -> models.BigIntegerField[_IntegerSet, int]: ...
@overload
def money_field(
    verbose_name: StrOrPromise, *, null: bool, **options: Any
) -> models.BigIntegerField[_IntegerSet | None, int | None]: ...
def money_field(
    verbose_name: StrOrPromise, *, null: bool = False, **options: Any
) -> models.BigIntegerField[Any, Any]:
    """An amount in cents (integer): money is never a float here."""
    return models.BigIntegerField(verbose_name, null=null, **options)


def currency_field() -> models.CharField[str | int | Combinable, str]:
    return models.CharField(_("currency"), max_length=CURRENCY_MAX_LENGTH, default="EUR")


class MirroredModel(models.Model):
    """A local copy of one Defacto object.

    `defacto_id` stays empty (NULL) until Defacto knows the object, so rows the
    marketplace creates first do not collide on it. `raw` keeps the last payload as sent,
    including fields without a column of their own.
    """

    # Set on subclasses whose status only moves forward.
    status_flow: ClassVar[StatusFlow | None] = None
    # Columns a payload fills once and never changes afterwards.
    kept_once_set: ClassVar[tuple[str, ...]] = ()
    # Payload fields never stored, `raw` included (a pre-signed link Defacto says must not
    # be kept: it is asked for again when needed).
    transient_fields: ClassVar[tuple[str, ...]] = ()

    defacto_id = models.CharField(
        _("Defacto id"), max_length=64, unique=True, null=True, blank=True, editable=False
    )
    raw = models.JSONField(_("last payload"), default=dict, blank=True, editable=False)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True

    @classmethod
    def storable(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as it may be stored: without its `transient_fields`."""
        if not any(name in payload for name in cls.transient_fields):
            return payload
        return {name: value for name, value in payload.items() if name not in cls.transient_fields}

    @classmethod
    def columns_from_payload(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """The typed columns a Defacto payload sets, ready for `setattr` or `bulk_update`."""
        raise NotImplementedError
