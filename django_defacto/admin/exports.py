"""Exports for finance: the loans, payments or bills of a change list as currently
filtered, and those of a period (the dashboard links to it), as CSV or XLSX.

Who may export: the `export_portfolio` permission, and
- for a change list's export, the permission to view that list;
- for a period's export, the dashboard's permission (`view_portfolio_dashboard`).

Each export is recorded in the admin's history before its first row is sent
(`services.exports.record_export`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..services import exports
from ..services.reports import Month
from .base import MirrorAdmin
from .forms import ExportPeriodForm

EXPORT_PERMISSION = "django_defacto.export_portfolio"
DASHBOARD_PERMISSION = "django_defacto.view_portfolio_dashboard"
PERIOD_EXPORT_URL_NAME = "django_defacto_portfolio_export"
PERIOD_EXPORT_TEMPLATE = "admin/django_defacto/loan/portfolio_export.html"

CONTENT_TYPES = {
    exports.CSV: "text/csv; charset=utf-8",
    exports.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(
    kind: exports.ExportKind, file_format: str, queryset: QuerySet, scope: str
) -> StreamingHttpResponse:
    """The rows as a download: CSV written line by line as it is sent; XLSX built in a
    temporary file, then sent from it."""
    table = exports.rows(kind, queryset)
    name = exports.filename(kind, file_format, scope)
    if file_format == exports.XLSX:
        return FileResponse(
            exports.xlsx_file(kind, table),
            as_attachment=True,
            filename=name,
            content_type=CONTENT_TYPES[file_format],
        )
    response = StreamingHttpResponse(
        exports.csv_lines(table), content_type=CONTENT_TYPES[file_format]
    )
    attachment = content_disposition_header(True, name)
    assert attachment is not None  # always one for an attachment
    response["Content-Disposition"] = attachment
    return response


class ExportableAdmin(MirrorAdmin):
    """A mirror's change list with "Export CSV" and "Export XLSX": its rows as filtered,
    searched and sorted on the page, all of them rather than one page."""

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export/<str:file_format>/",
            self.admin_site.admin_view(self.export_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION) and self.has_view_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_export": self.has_export_permission(request),
            "can_export_period": can_export_period(request),
        }
        return super().changelist_view(request, context)

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponseBase:
        if not self.has_export_permission(request):
            raise PermissionDenied
        kind = exports.kind_for_model(self.model)
        if file_format not in exports.FORMATS or kind is None:
            raise Http404
        try:
            # The change list as the admin builds it, from the same query string: the
            # filters, the search and the order staff see.
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            listing = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{listing}?{ERROR_FLAG}=1")
        query = request.GET.urlencode()
        exports.record_export(
            user_id=request.user.pk,
            kind=kind,
            file_format=file_format,
            count=changelist.result_count,
            scope=gettext("the list filtered by %(query)s") % {"query": query}
            if query
            else gettext("the whole list"),
            scope_to_log="list filtered by " + (", ".join(sorted(request.GET.keys())) or "nothing"),
        )
        scope = f"list-{timezone.localdate().isoformat()}"
        return export_response(kind, file_format, changelist.queryset, scope)


def can_export_period(request: HttpRequest) -> bool:
    return request.user.has_perm(EXPORT_PERMISSION) and request.user.has_perm(DASHBOARD_PERMISSION)


def period_export_urls(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    def view(request: HttpRequest) -> HttpResponseBase:
        return period_export_view(model_admin, request)

    return [
        path(
            "portfolio-export/",
            model_admin.admin_site.admin_view(view),
            name=PERIOD_EXPORT_URL_NAME,
        )
    ]


def period_export_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponseBase:
    """With `kind`, `date_from`, `date_to` and `format` in the query string, the file;
    otherwise (or when they are wrong) the form that asks for them."""
    if not can_export_period(request):
        raise PermissionDenied
    last_month = Month.before(timezone.localdate())
    form = ExportPeriodForm(
        request.GET or None,
        initial={
            "kind": exports.LOANS.name,
            "date_from": last_month.first_day,
            "date_to": last_month.last_day,
            "format": exports.CSV,
        },
    )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        kind = exports.KINDS[data["kind"]]
        period = exports.Period(data["date_from"], data["date_to"])
        queryset = exports.period_queryset(kind, period)
        exports.record_export(
            user_id=request.user.pk,
            kind=kind,
            file_format=data["format"],
            count=queryset.count(),
            scope=gettext("from %(first)s to %(last)s")
            % {"first": period.first.isoformat(), "last": period.last.isoformat()},
            scope_to_log=f"period {period}",
        )
        scope = f"{period.first.isoformat()}-to-{period.last.isoformat()}"
        return export_response(kind, data["format"], queryset, scope)
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Export loans, payments or bills"),
        "opts": opts,
        "form": form,
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, PERIOD_EXPORT_TEMPLATE, context)
