"""Secrets and bank details never reach the logs or error messages."""

from __future__ import annotations

import logging

import pytest

from django_defacto.client import InvalidRequestError, RedactingFilter, redact
from tests.conftest import TEST_API_KEY
from tests.journeys import loan_request, ready_borrower


def test_api_key_and_ibans_never_reach_the_logs(client, control, contract_adapter, caplog):
    caplog.set_level(logging.DEBUG)
    borrower = ready_borrower(client, control)
    body = loan_request(client, borrower)
    iban = body["loan_to"]["account_number"]
    control.add_fault("http_500", next=1, path="/loans", method="POST")
    control.add_fault("connection_reset", next=1, path="/loans", method="POST")
    client.loans.create(body)
    body["to_repay_at"] = "not a date"
    with contract_adapter.sending_invalid_requests(), pytest.raises(InvalidRequestError) as caught:
        client.loans.create(body)

    assert "retrying" in caplog.text, "retries are logged"
    logged = caplog.text + str(caught.value) + repr(caught.value)
    assert TEST_API_KEY not in logged
    assert iban not in logged


def test_redact_masks_ibans_and_bearer_tokens():
    text = "pay FR7630006000011234567890189 and FR76 3000 6000 0112 3456 7890 189 Bearer abc.def"
    cleaned = redact(text)
    assert "FR7630006000011234567890189" not in cleaned
    assert "3000 6000 0112" not in cleaned
    assert "abc.def" not in cleaned
    assert "FR76****0189" in cleaned


def test_redacting_filter_cleans_records_from_other_libraries(caplog):
    logger = logging.getLogger("some.other.library")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="some.other.library"):
            logger.info("sending to %s", "DE89370400440532013000")
    finally:
        logger.filters.clear()
    assert "DE89370400440532013000" not in caplog.text
    assert "DE89****3000" in caplog.text
