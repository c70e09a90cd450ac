"""What every admin of a Defacto mirror shares: rows are Defacto's, so staff view them
and act through services, never add, edit or delete them by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import flatten, flatten_fieldsets
from django.http import HttpRequest

ADMIN_CSS = "django_defacto/admin.css"


class NoHandEdits:
    """Nobody adds, edits or deletes Defacto's rows by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MirrorAdmin(NoHandEdits, admin.ModelAdmin):
    """A view-only admin: change pages show every field read-only."""

    list_per_page = 50
    show_full_result_count = False

    class Media:
        css = {"all": [ADMIN_CSS]}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Every field shown, even if a subclass grants the change permission.
        declared = list(super().get_readonly_fields(request, obj))
        if self.fieldsets:
            shown = flatten_fieldsets(self.fieldsets)
        elif self.fields:
            shown = flatten(self.fields)
        else:
            shown = [field.name for field in self.opts.concrete_fields]
        return list(dict.fromkeys([*declared, *shown]))


class MirrorInline(NoHandEdits, admin.TabularInline):
    """A read-only inline of rows that belong to the parent (a loan's events, payments):
    whoever may view the parent may view them."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return flatten(self.fields or ())

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        parent = self.parent_model._meta
        return request.user.has_perm(f"{parent.app_label}.view_{parent.model_name}")
