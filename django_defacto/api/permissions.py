"""Who may use the seller API: a signed-in user the marketplace knows as a seller."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..conf import get_adapter
from .errors import ApiError


class IsSeller(BasePermission):
    """Lets in a user for whom `adapter.seller_for_user` names a seller, and keeps that
    seller on the view (`view.seller`); anyone else signed in gets 403 `not_a_seller`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            # DRF answers 401/403 `not_authenticated`.
            return False
        seller = get_adapter().seller_for_user(user)
        if seller is None:
            raise ApiError(
                "not_a_seller",
                gettext("This account is not a seller of the marketplace."),
                status_code=403,
            )
        view.seller = seller
        return True
