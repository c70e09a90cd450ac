"""Service errors are classes, each with its own code, and the seller API answers each
class with its status (the most specific mapped class wins, anything else is 502)."""

from __future__ import annotations

import inspect
import logging

import pytest
from django.test import Client

from django_defacto import exceptions
from django_defacto.api.errors import DEFACTO_FAILED, REFUSAL_STATUS, SERVICE_STATUS
from django_defacto.exceptions import (
    AlreadyFinanced,
    DefactoAuthenticationFailed,
    DefactoNotFound,
    DefactoServiceError,
    DefactoUnavailable,
    LoanActionRefused,
    LoanNotAtDefacto,
    NotEligible,
    SellerNotFound,
)
from django_defacto.presentation import SPECIFIC_REFUSALS
from django_defacto.services import borrowers as financing
from tests.integration.api_steps import api
from tests.marketplace import make_seller

SERVICE_ERRORS = [
    value
    for value in vars(exceptions).values()
    if inspect.isclass(value)
    and issubclass(value, DefactoServiceError)
    and value.__module__ == exceptions.__name__
]

# The status each code had when the API mapped code strings; every class is listed, so a
# new one needs a decision here.
STATUS_OF_CODE = {
    "defacto_error": 502,
    "defacto_unavailable": 503,
    "loan_request_unsettled": 502,
    "enrollment_incomplete": 422,
    "invalid_seller_details": 422,
    "not_eligible": 422,
    "already_financed": 409,
    "action_refused": 409,
    "loan_not_at_defacto": 409,
    "invalid_repayment_date": 422,
    "invalid_installments": 422,
    "invoice_not_found": 404,
    "idempotency_key_reused": 422,
    "borrower_identifier_taken": 409,
    "seller_not_found": 502,
    "defacto_authentication_failed": 502,
    "defacto_not_found": 502,
    "webhook_processing_failed": 502,
    "early_repayment_refused": 409,
    "early_repayment_in_progress": 409,
    "sales_history_unavailable": 409,
    "bill_not_sendable": 409,
}


def test_every_service_error_has_its_own_code_and_says_what_happened():
    assert {error.__name__ for error in SERVICE_ERRORS} == set(exceptions.__all__) - {
        "DefactoConfigurationError"
    }
    codes = [error.code for error in SERVICE_ERRORS]
    assert all(codes), codes
    assert len(set(codes)) == len(codes), sorted(codes)
    for error in SERVICE_ERRORS:
        assert error.__name__ in exceptions.__all__, error
        assert error.__doc__ and error.__doc__.strip(), error
        assert "code" in vars(error), f"{error.__name__} keeps its parent's code"


def test_service_errors_stay_under_the_classes_callers_catch():
    assert issubclass(LoanNotAtDefacto, LoanActionRefused)
    assert issubclass(AlreadyFinanced, NotEligible)
    assert issubclass(exceptions.LoanRequestUnsettled, DefactoUnavailable)


def test_the_refusal_statuses_cover_every_specific_refusal():
    assert set(REFUSAL_STATUS) == SPECIFIC_REFUSALS
    assert all(error in SERVICE_ERRORS for error in SERVICE_STATUS)


def _answer(monkeypatch, error: DefactoServiceError):
    """GET financing/ for a seller while the service raises `error`."""

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(financing, "financing_for_seller", fail)
    browser = Client()
    browser.force_login(make_seller().user)
    return browser.get(api("financing/"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "status"),
    list(SERVICE_STATUS.items()),
    ids=[error.__name__ for error in SERVICE_STATUS],
)
def test_the_api_answers_each_mapped_error_class_with_its_status(monkeypatch, error, status):
    answer = _answer(monkeypatch, error("It went wrong."))

    assert answer.status_code == status, answer.content
    assert answer.json()["code"] == error.code
    assert answer.json()["message"] == "It went wrong."
    if error is DefactoUnavailable:
        assert answer["Retry-After"] == "30"
    else:
        assert "Retry-After" not in answer


@pytest.mark.django_db
@pytest.mark.parametrize("error", SERVICE_ERRORS, ids=[error.__name__ for error in SERVICE_ERRORS])
def test_each_error_class_keeps_the_status_of_its_code(monkeypatch, error):
    answer = _answer(monkeypatch, error("It went wrong."))

    assert answer.status_code == STATUS_OF_CODE[error.code], answer.content
    assert answer.json()["code"] == error.code


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("not_eligible", 422),
        ("already_financed", 409),
        ("amount_too_high", 422),
        ("amount_too_low", 422),
        ("terms_not_accepted", 400),
        ("repayment_date_out_of_bounds", 422),
    ],
)
def test_a_refusal_answers_with_the_status_of_its_code(monkeypatch, code, status):
    refusal = NotEligible("Not now.", reasons=[(code, "Because."), (code, "Also because.")])

    answer = _answer(monkeypatch, refusal)

    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.json()["reasons"] == [
        {"code": code, "message": "Because."},
        {"code": code, "message": "Also because."},
    ]


@pytest.mark.django_db
def test_a_refusal_for_several_reasons_is_not_eligible(monkeypatch):
    refusal = NotEligible(
        "Not now.", reasons=[("amount_too_high", "Too much."), ("terms_not_accepted", "Terms.")]
    )

    answer = _answer(monkeypatch, refusal)

    assert answer.status_code == 422
    assert answer.json()["code"] == "not_eligible"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "error",
    [DefactoServiceError, DefactoAuthenticationFailed, DefactoNotFound, SellerNotFound],
)
def test_any_other_service_error_is_defacto_failing(monkeypatch, caplog, error):
    with caplog.at_level(logging.WARNING, logger="django_defacto.api"):
        answer = _answer(monkeypatch, error("Defacto said no."))

    assert error not in SERVICE_STATUS
    assert answer.status_code == DEFACTO_FAILED == 502
    assert answer.json()["code"] == error.code
    assert "Retry-After" not in answer
    assert f"Defacto said no. ({error.code})" in caplog.text
