"""The portfolio dashboard: the financing programme's figures for a period and a currency,
as charts with their numbers beside them, each bar leading to the rows it counts.

Figures come from `services.portfolio` (aggregate queries only); this module words them,
draws them (`charts`) and builds the links to the filtered change lists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..models import LoanStatus, WebhookEventState
from ..services import portfolio as figures
from ..support.formatting import iso_day, money
from . import charts

DASHBOARD_URL_NAME = "django_defacto_portfolio_dashboard"
DASHBOARD_PERMISSION = "django_defacto.view_portfolio_dashboard"
TEMPLATE = "admin/django_defacto/loan/dashboard.html"
# The dashboard is served under the same policy as the sellers' pages: proof that its
# charts need no inline script or style.
POLICY = "default-src 'self'"

STATE_LABELS = {
    figures.AWAITING: _("Awaiting decision"),
    figures.APPROVED: _("Approved, not paid out yet"),
    figures.TO_REPAY: _("Paid out, to repay"),
    figures.OVERDUE: _("Overdue"),
}
STATE_FAMILIES = {
    figures.AWAITING: "awaiting",
    figures.APPROVED: "approved",
    figures.TO_REPAY: "paid",
    figures.OVERDUE: "issue",
}
FUNNEL_LABELS = {
    figures.REQUESTED: _("Requested"),
    figures.FUNNEL_APPROVED: _("Approved"),
    figures.DECLINED: _("Declined"),
    figures.CANCELED: _("Canceled"),
}
FUNNEL_FAMILIES = {
    figures.REQUESTED: "awaiting",
    figures.FUNNEL_APPROVED: "approved",
    figures.DECLINED: "declined",
    figures.CANCELED: "closed",
}


class DashboardForm(forms.Form):
    """The period and the currency, as GET parameters."""

    period = forms.TypedChoiceField(label=_("Period"), coerce=int, required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["period"]).choices = [
            (days, ngettext("Last %(days)d day", "Last %(days)d days", days) % {"days": days})
            for days in figures.PERIOD_DAYS
        ]
        cast(forms.ChoiceField, self.fields["currency"]).choices = [
            (code, code) for code in currencies
        ]

    def chosen(self) -> tuple[int, str]:
        if not self.is_valid():
            return figures.DEFAULT_PERIOD_DAYS, figures.DEFAULT_CURRENCY
        return (
            self.cleaned_data["period"] or figures.DEFAULT_PERIOD_DAYS,
            self.cleaned_data["currency"] or figures.DEFAULT_CURRENCY,
        )


def _moment(value: datetime) -> str:
    return value.isoformat()


def _midnight(day: date) -> str:
    return _moment(timezone.make_aware(datetime.combine(day, datetime.min.time())))


def _statuses(statuses: Any) -> str:
    return ",".join(sorted(statuses))


class Links:
    """Where each figure leads: a change list filtered to the rows it counts."""

    def __init__(self, currency: str, period: figures.Period) -> None:
        self.currency = currency
        self.period = period

    def loans(self, **params: str) -> str:
        query = urlencode({"currency__exact": self.currency, **params})
        return f"{reverse('admin:django_defacto_loan_changelist')}?{query}"

    def state(self, key: str) -> str:
        if key == figures.OVERDUE:
            return self.loans(overdue="yes")
        if key == figures.TO_REPAY:
            return self.loans(
                status__in=_statuses(figures.LOAN_TO_REPAY), overdue_since__isnull="1"
            )
        if key == figures.APPROVED:
            return self.loans(status__in=_statuses(figures.APPROVED_NOT_PAID))
        return self.loans(status__in=_statuses(figures.LOAN_AWAITING_DECISION))

    def in_period(self, **params: str) -> str:
        return self.loans(
            requested_at__gte=_moment(self.period.start),
            requested_at__lt=_moment(self.period.end),
            **params,
        )

    def funnel(self, key: str) -> str:
        statuses = {
            figures.FUNNEL_APPROVED: _statuses(figures.LOAN_APPROVED | {LoanStatus.ISSUE_DETECTED}),
            figures.DECLINED: LoanStatus.DECLINED,
            figures.CANCELED: LoanStatus.CANCELED,
        }
        if key in statuses:
            return self.in_period(status__in=statuses[key])
        return self.in_period()

    def seller(self, borrower_id: int | None, **params: str) -> str:
        if borrower_id is None:
            return ""
        return self.loans(borrower__id__exact=str(borrower_id), **params)

    def paid_out_before(self, moment: date) -> str:
        return self.loans(
            status__in=_statuses(figures.LOAN_DISBURSED), paid_at__lt=_midnight(moment)
        )

    def month(self, month: date) -> tuple[str, str]:
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        return _midnight(month), _midnight(following)


def _amount(cents: int, currency: str) -> str:
    return money(cents, currency)


def _age_label(band: figures.AgeBand) -> str:
    if band.highest is None:
        return gettext("over %(days)d days") % {"days": band.lowest - 1}
    return gettext("%(lowest)d to %(highest)d days") % {
        "lowest": band.lowest,
        "highest": band.highest,
    }


def _section(
    title: str, rows: list[dict[str, Any]], *, chart: Any = None, columns: list[str]
) -> dict[str, Any]:
    return {"title": title, "chart": chart, "rows": rows, "columns": columns}


def _row(label: str, *cells: Any, url: str = "") -> dict[str, Any]:
    return {"label": label, "cells": [str(cell) for cell in cells], "url": url}


def dashboard_context(data: figures.Portfolio) -> dict[str, Any]:
    """The page's sections: each a chart, and a table of the same numbers."""
    currency = data.currency
    links = Links(currency, data.period)
    count_col, amount_col = gettext("loans"), gettext("amount")

    outstanding = [
        (str(STATE_LABELS[item.key]), item, links.state(item.key), STATE_FAMILIES[item.key])
        for item in data.outstanding
    ]
    state_chart = charts.bar_chart(
        [
            charts.Bar(label, item.cents, _amount(item.cents, currency), url, family)
            for label, item, url, family in outstanding
        ],
        label=gettext("Outstanding principal by status"),
    )
    week_points = [
        charts.Bar(
            date_format(point.week_start, "SHORT_DATE_FORMAT"),
            point.cents,
            _amount(point.cents, currency),
            links.paid_out_before(point.week_start + timedelta(days=7)),
        )
        for point in data.trend
    ]

    def seller_line(line: figures.SellerLine) -> dict[str, Any]:
        return _row(
            line.name,
            _amount(line.used, currency),
            _amount(line.available, currency),
            _amount(line.limit, currency),
            f"{line.used_percent} %",
            url=links.seller(line.borrower_id),
        )

    credit_columns = [gettext("used"), gettext("available"), gettext("limit"), gettext("used (%)")]
    totals = data.credit_totals
    credit_rows = [seller_line(line) for line in data.credit_lines]
    credit_rows.append(
        _row(
            gettext("All sellers"),
            _amount(totals.used, currency),
            _amount(totals.available, currency),
            _amount(totals.limit, currency),
            f"{totals.used_percent} %",
        )
    )
    to_repay = _statuses(figures.LOAN_TO_REPAY)
    exposure = [
        (
            item,
            links.seller(item.borrower_id, status__in=to_repay),
        )
        for item in data.top_exposure
    ]
    today = data.today
    due_rows = []
    for item in data.due_soon:
        days = int(item.key)
        url = links.loans(
            status__in=to_repay,
            overdue_since__isnull="1",
            to_repay_at__gte=_midnight(today),
            to_repay_at__lt=_midnight(today + timedelta(days=days + 1)),
        )
        label = ngettext("Next %(days)d day", "Next %(days)d days", days) % {"days": days}
        due_rows.append((label, item, url))
    age_bars = []
    for band in data.overdue_ages:
        bounds = figures.age_band_bounds(band.lowest, band.highest, today)
        params = {lookup: _moment(moment) for lookup, moment in bounds.items()}
        age_bars.append((_age_label(band), band, links.loans(overdue="yes", **params)))

    funnel = [
        (str(FUNNEL_LABELS[item.key]), item, links.funnel(item.key), FUNNEL_FAMILIES[item.key])
        for item in data.funnel
    ]
    reasons = [
        (
            reason,
            links.in_period(status__exact=LoanStatus.DECLINED, denial_reason=reason.code),
        )
        for reason in data.decline_reasons
    ]
    bills_url = reverse("admin:django_defacto_bill_changelist")
    fee_rows = []
    for month in data.fees_by_month:
        start, end = links.month(month.month)
        query = urlencode(
            {"currency__exact": currency, "start_date__gte": start, "start_date__lt": end}
        )
        fee_rows.append((month, f"{bills_url}?{query}"))
    financed_rows = []
    for month in data.financed_by_month:
        start, end = links.month(month.month)
        financed_rows.append((month, links.loans(paid_at__gte=start, paid_at__lt=end)))

    def month_label(month: figures.MonthFigure) -> str:
        return date_format(month.month, "YEAR_MONTH_FORMAT")

    def counted(title: str, items: list[tuple[str, int, int, str]], tone: str) -> Any:
        """A section of counted amounts: a bar per item, and its count and amount beside."""
        return _section(
            title,
            [
                _row(label, count, _amount(cents, currency), url=url)
                for label, count, cents, url in items
            ],
            chart=charts.bar_chart(
                [
                    charts.Bar(label, cents, _amount(cents, currency), url, tone)
                    for label, _count, cents, url in items
                ],
                label=title,
            ),
            columns=[count_col, amount_col],
        )

    health = data.health
    never = gettext("never")
    sections = [
        _section(
            gettext("Outstanding principal by status"),
            [
                _row(label, item.count, _amount(item.cents, currency), url=url)
                for label, item, url, _f in outstanding
            ],
            chart=state_chart,
            columns=[count_col, amount_col],
        ),
        _section(
            gettext("Principal paid out and not closed, by week"),
            [_row(point.label, point.text, url=point.url) for point in week_points],
            chart=charts.line_chart(
                week_points, label=gettext("Principal paid out and not closed, by week")
            ),
            columns=[amount_col],
        ),
        _section(
            gettext("Credit-line utilisation by seller"),
            credit_rows,
            chart=charts.bar_chart(
                [
                    charts.Bar(
                        line.name,
                        line.used,
                        f"{_amount(line.used, currency)} / {_amount(line.limit, currency)}",
                        links.seller(line.borrower_id),
                        "approved",
                    )
                    for line in data.credit_lines
                ],
                label=gettext("Credit-line utilisation by seller"),
            ),
            columns=credit_columns,
        ),
        _section(
            gettext("Sellers near their limit (%(percent)d %% used or more)")
            % {"percent": figures.NEAR_LIMIT_PERCENT},
            [seller_line(line) for line in data.near_limit],
            columns=credit_columns,
        ),
        counted(
            gettext("Top sellers by exposure"),
            [(item.name, item.loans, item.cents, url) for item, url in exposure],
            "paid",
        ),
        counted(
            gettext("Upcoming repayments"),
            [(label, item.count, item.cents, url) for label, item, url in due_rows],
            "paid",
        ),
        counted(
            gettext("Overdue loans by days late"),
            [(label, band.count, band.cents, url) for label, band, url in age_bars],
            "issue",
        ),
        _section(
            gettext("Longest overdue"),
            [
                _row(
                    loan.reference,
                    loan.seller,
                    _amount(loan.cents, currency),
                    date_format(loan.due_on, "DATE_FORMAT") if loan.due_on else "-",
                    ngettext("%(days)d day", "%(days)d days", loan.days_late)
                    % {"days": loan.days_late},
                    url=reverse("admin:django_defacto_loan_change", args=[loan.loan_id]),
                )
                for loan in data.overdue_loans
            ],
            columns=[
                gettext("seller"),
                gettext("left to repay"),
                gettext("due on"),
                gettext("late"),
            ],
        ),
        _section(
            gettext("Requests of the period"),
            [
                _row(label, item.count, _amount(item.cents, currency), url=url)
                for label, item, url, _f in funnel
            ],
            chart=charts.bar_chart(
                [
                    charts.Bar(label, item.count, str(item.count), url, family)
                    for label, item, url, family in funnel
                ],
                label=gettext("Requests of the period"),
            ),
            columns=[count_col, amount_col],
        ),
        _section(
            gettext("Why Defacto declined"),
            [
                _row(reason.words, reason.count, reason.code or "-", url=url)
                for reason, url in reasons
            ],
            chart=charts.bar_chart(
                [
                    charts.Bar(reason.words, reason.count, str(reason.count), url, "declined")
                    for reason, url in reasons
                ],
                label=gettext("Why Defacto declined"),
            ),
            columns=[count_col, gettext("code")],
        ),
        _section(
            gettext("Fees billed by month"),
            [
                _row(month_label(month), month.count, _amount(month.cents, currency), url=url)
                for month, url in fee_rows
            ],
            chart=charts.bar_chart(
                [
                    charts.Bar(
                        month_label(month),
                        month.cents,
                        _amount(month.cents, currency),
                        url,
                        "closed",
                    )
                    for month, url in fee_rows
                ],
                label=gettext("Fees billed by month"),
            ),
            columns=[gettext("bills"), amount_col],
        ),
        _section(
            gettext("Loans paid out by month"),
            [
                _row(month_label(month), month.count, _amount(month.cents, currency), url=url)
                for month, url in financed_rows
            ],
            chart=charts.bar_chart(
                [
                    charts.Bar(
                        month_label(month), month.cents, _amount(month.cents, currency), url, "paid"
                    )
                    for month, url in financed_rows
                ],
                label=gettext("Loans paid out by month"),
            ),
            columns=[count_col, amount_col],
        ),
        _section(
            gettext("Health of the integration"),
            [
                _row(
                    gettext("Webhook events failed"),
                    health.failed_events,
                    url=_events_url(state__exact=WebhookEventState.FAILED),
                ),
                _row(
                    gettext("Webhook events stuck (received, not processed)"),
                    health.stuck_events,
                    url=_events_url(state__exact=WebhookEventState.RECEIVED),
                ),
                _row(
                    gettext("Loan requests whose outcome is unknown"),
                    health.outcome_unknown,
                    url=links.loans(request_outcome_unknown__exact="1"),
                ),
                _row(gettext("Last successful sync"), _when(health.last_sync) or never),
                _row(gettext("Last successful poll"), _when(health.last_poll) or never),
            ],
            columns=[gettext("value")],
        ),
    ]
    return {"sections": sections}


def _events_url(**params: str) -> str:
    return f"{reverse('admin:django_defacto_webhookevent_changelist')}?{urlencode(params)}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


EXPORT_PERMISSION = "django_defacto.export_portfolio"


def _export_links(request: HttpRequest, data: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """The period's loans, payments and bills as files, for staff who may export them."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        return []
    url = reverse("admin:django_defacto_portfolio_export")
    period = {
        "date_from": iso_day(data.period.start) or "",
        "date_to": iso_day(data.period.end) or "",
    }
    kinds = (
        ("loans", gettext("Loans")),
        ("payments", gettext("Payments")),
        ("bills", gettext("Bills")),
    )
    return [
        (
            label,
            [
                (name, f"{url}?{urlencode({'kind': kind, **period, 'format': file_format})}")
                for file_format, name in (("csv", "CSV"), ("xlsx", "XLSX"))
            ],
        )
        for kind, label in kinds
    ]


def dashboard_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The dashboard, for staff holding `view_portfolio_dashboard` (403 otherwise)."""
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    codes = figures.all_currencies()
    initial = {"period": figures.DEFAULT_PERIOD_DAYS, "currency": figures.DEFAULT_CURRENCY}
    form = DashboardForm(request.GET or None, initial=initial, currencies=codes)
    days, currency = form.chosen()
    data = figures.portfolio(currency, days, currencies=codes)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Portfolio dashboard"),
        "opts": model_admin.opts,
        "form": form,
        "portfolio": data,
        "media": model_admin.media,
        **dashboard_context(data),
        "exports": _export_links(request, data),
    }
    request.current_app = model_admin.admin_site.name
    response = TemplateResponse(request, TEMPLATE, context)
    response.headers.setdefault("Content-Security-Policy", POLICY)
    return response
