"""Every client method against the in-process sandbox; the `client` fixture's transport
checks each request and response against openapi.json."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from django_defacto.client import InvalidRequestError, NotFoundError
from tests.journeys import loan_request, ready_borrower


def test_hello_answers_with_the_api_key(client):
    assert client.hello()


def test_borrower_enrolment_signature_and_credit_line(client, control):
    business = client.sandbox.business_generator(is_borrower=True)
    borrower = client.borrowers.create(business)
    assert borrower["identifier"] == business["identifier"]
    assert borrower["status"] == "TO_SIGN"
    assert client.credit_lines.list(borrower=borrower["identifier"]).to_list() == []

    signed = client.borrowers.sign(
        borrower["id"], {"signed_at": datetime.now(timezone.utc).isoformat()}
    )
    assert signed["status"] != "TO_SIGN"
    control.advance_clock(60)

    lines = client.credit_lines.list(borrower=borrower["identifier"]).to_list()
    assert len(lines) == 1
    line = lines[0]
    assert line["balance_available"] == line["pool_amount"] > 0
    assert 0.05 <= line["fees_daily_rate"] <= 0.1
    assert client.credit_lines.get(line["id"])["id"] == line["id"]

    found = client.borrowers.list(borrower_identifier=borrower["identifier"]).to_list()
    assert [b["id"] for b in found] == [borrower["id"]]
    assert client.borrowers.get(borrower["id"])["identifier"] == borrower["identifier"]
    products = client.borrowers.financial_products(borrower["id"])["data"]
    assert len(products) == 1

    client.borrowers.deactivate(borrower["id"])
    assert client.borrowers.get(borrower["id"])["status"] == "DEACTIVATED"


def test_eligibility_follows_the_sandbox_switch(client):
    business = client.sandbox.business_generator(is_borrower=True)
    identifier = {"identifier": business["identifier"], "identifier_type": "siren"}
    assert client.eligibility.borrower(identifier)["is_eligible"] is True
    client.sandbox.business_eligible(
        {"business_identifier": identifier, "scenario": "NOT_ELIGIBLE"}
    )
    answer = client.eligibility.borrower(identifier)
    assert answer["is_eligible"] is False
    assert answer["reasons"]


def test_invoice_create_update_submit_delete(client):
    payload = client.sandbox.invoice_generator({"scenario": "SUCCESS"})["invoice_creation_payload"]
    invoice = client.invoices.create({**payload, "is_draft": True})
    assert invoice["status"] == "TO_SUBMIT"
    assert client.invoices.get(invoice["id"])["id"] == invoice["id"]
    assert invoice["id"] in [i["id"] for i in client.invoices.list()]

    client.invoices.update(invoice["id"], {"invoice_number": "INV-CHANGED-1"})
    assert client.invoices.get(invoice["id"])["invoice_number"] == "INV-CHANGED-1"

    assert client.invoices.submit(invoice["id"])["status"] == "SUBMITTED"
    with pytest.raises(InvalidRequestError):
        client.invoices.update(invoice["id"], {"invoice_number": "TOO-LATE"})
    assert client.invoices.delete(invoice["id"])["status"] == "DELETED"
    assert client.invoices.get(invoice["id"])["status"] == "DELETED"


def test_unknown_object_raises_not_found_naming_the_path(client):
    with pytest.raises(NotFoundError) as caught:
        client.loans.get("0b7f0c52-0000-4000-8000-000000000000")
    assert caught.value.status == 404
    assert caught.value.path == "/loan/0b7f0c52-0000-4000-8000-000000000000"


def test_loan_with_consent_goes_from_request_to_closed(client, control):
    borrower = ready_borrower(client, control)
    body = loan_request(client, borrower, wait_for_validation=True)
    loan = client.loans.create(body)
    assert loan["status"] == "TO_VALIDATE"
    assert loan["fees_estimated"] > 0

    validated = client.loans.validate(loan["id"])
    assert validated["status"] in {"VALIDATED", "SCHEDULED"}
    for _ in range(10):
        control.advance_clock(3600)
    closed = client.loans.get(loan["id"])
    assert closed["status"] == "CLOSED"

    statuses = [e["status"] for e in client.loans.events(loan["id"])]
    assert statuses.index("TO_VALIDATE") < statuses.index("TO_REPAY") < statuses.index("CLOSED")
    payments = client.payments.list(loan_id=loan["id"]).to_list()
    assert payments and all(p["status"] == "PAID" for p in payments)
    assert any(e for e in client.events.list(loan_id=loan["id"]))
    by_id = client.loans.list(id=[loan["id"]], status=["CLOSED"]).to_list()
    assert [item["id"] for item in by_id] == [loan["id"]]


def test_async_decision_then_cancel_before_disbursement(client, control):
    borrower = ready_borrower(client, control)
    loan = client.loans.create(loan_request(client, borrower))
    assert loan["status"] == "PENDING_VALIDATION"
    control.advance_clock(30)
    assert client.loans.get(loan["id"])["status"] == "TO_VALIDATE"
    canceled = client.loans.cancel(loan["id"])
    assert canceled["status"] == "CANCELED"


def test_cancel_after_disbursement_is_refused_with_a_clear_error(client, control):
    borrower = ready_borrower(client, control)
    loan = client.loans.create(
        loan_request(client, borrower, auto_validate=True, wait_for_validation=True)
    )
    for _ in range(3):
        control.advance_clock(120)
    with pytest.raises(InvalidRequestError) as caught:
        client.loans.cancel(loan["id"])
    assert caught.value.status == 400
    assert caught.value.detail


def test_repayment_date_change_is_bounded_to_120_days(client, control):
    borrower = ready_borrower(client, control)
    loan = client.loans.create(
        loan_request(client, borrower, auto_validate=True, wait_for_validation=True)
    )
    pay_at = datetime.fromisoformat(loan["to_pay_at"])
    later = (pay_at + timedelta(days=60)).isoformat()
    updated = client.loans.update(loan["id"], {"to_repay_at": later})
    assert datetime.fromisoformat(updated["to_repay_at"]) == datetime.fromisoformat(later)

    terms = {
        "repayment_terms": [
            {
                "loan_id": loan["id"],
                "repayment_date": (pay_at + timedelta(days=90)).isoformat(),
                "repayment_method": "SCT",
            }
        ]
    }
    client.loans.set_repayment_terms(terms)
    too_far = (pay_at + timedelta(days=121)).isoformat()
    with pytest.raises(InvalidRequestError):
        client.loans.update(loan["id"], {"to_repay_at": too_far})


def test_declined_loan_reason_translates(client, control):
    borrower = ready_borrower(client, control)
    loan = client.loans.create(
        loan_request(client, borrower, scenario="REJECT", wait_for_validation=True)
    )
    assert loan["status"] == "DECLINED"
    assert loan["denial_reason"]
    text = client.translations.denial_code(loan["denial_reason"])
    assert text["en"] and text["fr"]


def test_month_end_bill_can_be_marked_sent(client, control):
    control.set_partner_sends_bills(True)
    borrower = ready_borrower(client, control)
    client.loans.create(
        loan_request(client, borrower, auto_validate=True, wait_for_validation=True)
    )
    control.advance_clock(32 * 86400)
    bills = client.bills.list(business_identifier=borrower["identifier"]).to_list()
    assert bills and bills[0]["to_pay_amount"] > 0
    assert bills[0]["status"] == "VALIDATED"  # waiting for the platform to send it
    sent_on = datetime.now(timezone.utc).replace(microsecond=0)
    notice = {"sent_on": sent_on.isoformat(), "to_email_addresses": ["a@b.fr"]}
    client.bills.mark_sent(bills[0]["id"], notice)
    # The same notice again is answered alike and changes nothing.
    client.bills.mark_sent(bills[0]["id"], {**notice, "sent_on": datetime.now(timezone.utc)})
    again = client.bills.list(bill_id=bills[0]["id"]).to_list()
    assert again[0]["status"] == "SENT_TO_PAYER"
    assert datetime.fromisoformat(again[0]["email_sent_to_payer_on"]) == sent_on


def test_a_bill_defacto_sent_itself_cannot_be_marked_sent(client, control):
    borrower = ready_borrower(client, control)
    client.loans.create(
        loan_request(client, borrower, auto_validate=True, wait_for_validation=True)
    )
    control.advance_clock(32 * 86400)
    [bill] = client.bills.list(business_identifier=borrower["identifier"]).to_list()
    assert bill["status"] in ("TO_PAY", "PAID")
    assert bill["email_sent_to_payer_on"]
    with pytest.raises(InvalidRequestError, match="only once VALIDATED"):
        client.bills.mark_sent(
            bill["id"],
            {"sent_on": datetime.now(timezone.utc).isoformat(), "to_email_addresses": ["a@b.fr"]},
        )


def test_webhook_subscription_lifecycle(client):
    subscription = {
        "name": "loans",
        "to_url": "https://market.example/defacto/webhook?token=s3cret",
        "event_types": ["Loan.DECLINED"],
    }
    created = client.webhooks.create(subscription)
    assert created["id"]
    client.webhooks.update(
        created["id"], {**subscription, "event_types": ["Loan.DECLINED", "Loan.CLOSED"]}
    )
    listed = {w["id"]: w for w in client.webhooks.list()}
    assert set(listed[created["id"]]["event_types"]) == {"Loan.DECLINED", "Loan.CLOSED"}
    client.webhooks.delete(created["id"])
    assert created["id"] not in {w["id"] for w in client.webhooks.list()}


def test_iban_generator_picks_the_scenario(client):
    success = client.sandbox.iban_generator(scenario="SUCCESS")["iban"]
    reject = client.sandbox.iban_generator(scenario="REJECT")["iban"]
    assert success != reject
    assert reject[:2].isalpha() and reject[2:4].isdigit()


def test_every_exchange_was_checked_against_the_contract(client, control, contract_adapter):
    borrower = ready_borrower(client, control)
    client.loans.create(loan_request(client, borrower, wait_for_validation=True))
    methods = {(e.method, e.path.split("/")[1]) for e in contract_adapter.exchanges}
    assert ("POST", "loans") in methods and ("POST", "borrowers") in methods
    assert all(e.status is not None for e in contract_adapter.exchanges)


def test_an_uploaded_pdf_becomes_a_draft_invoice_read_by_the_sandbox_rule(client):
    pdf = b"%PDF-1.4\nInvoice number: F-2026-042\nTotal: 1234.56\nDue: 2026-12-31\n%%EOF"

    invoice = client.invoices.upload(
        pdf, buyer="SIREN-899021021", seller="SIREN-552100554", metadata='{"order": "A-7"}'
    )

    assert invoice["invoice_number"] == "F-2026-042"
    assert invoice["net_amount"] == 123_456
    assert invoice["due_at"].startswith("2026-12-31")
    assert invoice["status"] == "TO_SUBMIT"
    assert invoice["buyer"]["identifier"] == "899021021"
    assert invoice["buyer"]["identifier_type"] == "siren"
    assert invoice["seller"]["identifier"] == "552100554"
    assert invoice["metadata"] == {"order": "A-7"}
    assert client.invoices.get(invoice["id"])["invoice_number"] == "F-2026-042"


def test_an_upload_without_details_is_read_from_the_files_fingerprint(client):
    pdf = b"%PDF-1.4\nno readable fields\n%%EOF"

    first = client.invoices.upload(pdf)
    second = client.invoices.upload(pdf)
    other = client.invoices.upload(pdf + b"\n")

    assert first["invoice_number"].startswith("SBX-UPL-")
    assert (first["invoice_number"], first["net_amount"]) == (
        second["invoice_number"],
        second["net_amount"],
    )
    assert first["id"] != second["id"]
    assert other["invoice_number"] != first["invoice_number"]
    assert 10_000 <= first["net_amount"] <= 999_900 and first["net_amount"] % 100 == 0


def test_an_upload_that_is_not_a_pdf_is_refused(client):
    with pytest.raises(InvalidRequestError, match="not a PDF"):
        client.invoices.upload(b"GIF89a not an invoice")
    with pytest.raises(InvalidRequestError, match="SIREN-899021021"):
        client.invoices.upload(b"%PDF-1.4\n", buyer="899021021")


def test_the_accounts_own_credit_line_totals_the_loans(client, control):
    borrower = ready_borrower(client, control)
    before = client.credit_lines.account()
    assert before["distribution"] == "PARTNER"
    assert before["pool_amount"] is None  # no longer given by Defacto
    assert before["amount_to_repay"] == 0

    loan = client.loans.create(
        loan_request(
            client, borrower, amount=150_000, scenario="SUCCESS_ONE_DAY_LATER", auto_validate=True
        )
    )
    assert client.credit_lines.account()["balance_pending_validation"] == 150_000
    control.advance_clock(600)
    assert client.loans.get(loan["id"])["status"] == "TO_REPAY"

    after = client.credit_lines.account()
    assert after["amount_to_repay"] == 150_000
    assert after["balance_pending_validation"] == 0
    assert after["coming_up_monthly_fees"] > 0
