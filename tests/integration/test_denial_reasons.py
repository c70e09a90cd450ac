"""Why a loan was declined, in the seller's language, fetched once per code and period."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.utils import translation

from django_defacto.models import Loan
from django_defacto.services.loans.denial_reasons import (
    GENERIC_TEXTS,
    denial_reason_text,
    loan_denial_text,
)
from django_defacto.services.loans.notifications import sweep_seller_notifications
from tests.integration.api_steps import api, ask_for_loan, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice

CODE = "CREDIT_RISK_NOT_ELIGIBLE"
ENGLISH = "The business does not meet our credit risk criteria."
FRENCH = "L'entreprise ne répond pas à nos critères de risque de crédit."
GERMAN = "Das Unternehmen erfüllt unsere Kreditrisikokriterien nicht."


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def translation_requests(contract_adapter) -> int:
    return len(contract_adapter.checked("GET", "/translation/denial-code/"))


def test_a_code_is_explained_in_the_language_asked_for(defacto_client):
    assert denial_reason_text(CODE, "fr") == FRENCH
    assert denial_reason_text(CODE, "de-AT") == GERMAN


def test_the_language_setting_comes_before_the_active_language(defacto_client, settings):
    settings.DEFACTO = {**settings.DEFACTO, "LANGUAGE": "fr"}
    with translation.override("de"):
        assert denial_reason_text(CODE) == FRENCH


def test_without_a_setting_the_active_language_is_used(defacto_client):
    with translation.override("de"):
        assert denial_reason_text(CODE) == GERMAN


def test_a_language_defacto_does_not_translate_to_falls_back_to_english(defacto_client):
    assert denial_reason_text(CODE, "it") == ENGLISH


def test_a_code_costs_one_request_per_cache_period(defacto_client, contract_adapter):
    denial_reason_text(CODE, "en")

    assert denial_reason_text(CODE, "en") == ENGLISH
    assert denial_reason_text(CODE, "fr") == FRENCH
    assert translation_requests(contract_adapter) == 1


def test_with_no_cache_period_every_lookup_asks_defacto(defacto_client, contract_adapter, settings):
    settings.DEFACTO = {**settings.DEFACTO, "DENIAL_REASON_CACHE_SECONDS": 0}

    denial_reason_text(CODE)
    denial_reason_text(CODE)

    assert translation_requests(contract_adapter) == 2


def test_a_code_defacto_has_no_text_for_still_reads_as_a_sentence(defacto_client):
    text = denial_reason_text("NEW_CODE_ADDED_LAST_WEEK", "en")

    assert "NEW_CODE_ADDED_LAST_WEEK" not in text
    assert text.endswith(".") and " " in text


def test_an_empty_code_gets_the_generic_sentence_without_asking(defacto_client, contract_adapter):
    assert denial_reason_text("", "fr") == GENERIC_TEXTS["fr"]
    assert translation_requests(contract_adapter) == 0


def test_when_defacto_is_unreachable_a_generic_sentence_is_shown_at_once(
    defacto_client, control, contract_adapter
):
    control.add_fault("connection_reset", rate=1.0, path="/translation/")

    assert denial_reason_text(CODE, "fr") == GENERIC_TEXTS["fr"]
    asked = translation_requests(contract_adapter)
    assert denial_reason_text("BORROWER_STATUS", "en") == GENERIC_TEXTS["en"]
    # Later lookups do not wait for Defacto again while it is known to be down.
    assert translation_requests(contract_adapter) == asked

    control.clear_faults()
    cache.clear()
    assert denial_reason_text(CODE, "en") == ENGLISH


def test_without_an_api_key_a_generic_sentence_is_shown(settings):
    settings.DEFACTO = {**settings.DEFACTO, "API_KEY": ""}

    assert denial_reason_text(CODE, "en") == GENERIC_TEXTS["en"]


# ---- kept on the loan when it is declined, so showing it never asks Defacto -------------


@pytest.mark.django_db
def test_a_decline_keeps_defactos_words_and_the_seller_pages_never_ask_again(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control, "REJECT")
    browser = signed_in(seller.user)
    invoice = make_invoice(seller)

    answer = ask_for_loan(browser, invoice).json()

    loan = Loan.objects.get(pk=answer["id"])
    assert loan.denial_reason == CODE
    assert loan.denial_reason_texts["en"] == ENGLISH
    assert answer["denial_reason_text"] == ENGLISH
    cache.clear()  # even with nothing cached, the words come from the loan
    asked = len(contract_adapter.exchanges)
    listed = browser.get(api("loans/")).json()["results"][0]
    shown = browser.get(api(f"loans/{loan.pk}/")).json()
    offer = browser.get(api(f"invoices/{ref(invoice)}/offer/")).json()
    with translation.override("fr"):
        french = browser.get(api(f"loans/{loan.pk}/"), headers={"Accept-Language": "fr"})
    assert listed["denial_reason_text"] == shown["denial_reason_text"] == ENGLISH
    assert offer["loan"] is None or offer["loan"]["denial_reason_text"] == ENGLISH
    assert french.json()["denial_reason_text"] == FRENCH
    assert len(contract_adapter.exchanges) == asked


@pytest.mark.django_db
def test_a_loan_without_its_words_is_shown_with_the_generic_sentence_without_asking(
    defacto_client, contract_adapter
):
    loan = Loan(status="DECLINED", denial_reason=CODE)

    assert loan_denial_text(loan, "fr") == GENERIC_TEXTS["fr"]
    assert translation_requests(contract_adapter) == 0


@pytest.mark.django_db
def test_words_a_lost_task_did_not_fetch_are_fetched_by_the_notifications_sweep(
    defacto_client, control, contract_adapter
):
    seller, _ = ready_seller(control, "REJECT")
    control.add_fault("http_500", rate=1.0, path="/translation/")
    ask_for_loan(signed_in(seller.user), make_invoice(seller))
    loan = Loan.objects.get()
    assert loan.status == "DECLINED"
    assert loan.denial_reason_texts is None  # Defacto did not answer: nothing kept

    control.clear_faults()
    cache.clear()  # the "Defacto is down" mark expires
    swept = sweep_seller_notifications()

    assert swept.denial_texts == 1
    loan.refresh_from_db()
    assert loan.denial_reason_texts["fr"] == FRENCH
    assert sweep_seller_notifications().denial_texts == 0
