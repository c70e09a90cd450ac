"""Bills the marketplace sends its sellers itself: staff tell Defacto each one sent (only
VALIDATED bills, once however often they click), the admin history keeps it, and the
seller sees their own bills. What the seller reads before consenting says who pays."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from django_defacto.exceptions import BillNotSendable
from django_defacto.models import Bill, BillStatus, LoanStatus
from django_defacto.presentation import consent_text, repayment_instructions
from django_defacto.services import mark_bill_sent, refresh_loan, sync_bills
from django_defacto.services.loans import Quote, cash_in_now
from tests.integration.admin_steps import (
    action_names,
    changelist_url,
    confirm_action,
    messages_of,
    run_action,
    staff_client,
)
from tests.integration.api_steps import api, ref, signed_in
from tests.integration.sellers import ready_seller
from tests.integration.test_button_tag import render_button
from tests.marketplace import make_invoice

pytestmark = pytest.mark.django_db

DAY = 24 * 3600
SENDS_BILLS = {"MARKETPLACE_SENDS_BILLS": True}


@pytest.fixture
def marketplace_sends_bills(settings) -> None:
    settings.DEFACTO = {**settings.DEFACTO, **SENDS_BILLS}


def billed_seller(control: Any) -> tuple[Any, Bill]:
    """A seller with a loan paid out; Defacto's month-end bill for it, mirrored."""
    seller, _ = ready_seller(control)
    loan = cash_in_now(make_invoice(seller, total=240_000), auto_validate=True)
    control.advance_clock(300)
    assert refresh_loan(loan).status in (LoanStatus.TO_REPAY, LoanStatus.CLOSED)
    now = control.advance_clock(32 * DAY)
    sync_bills(start=now - timedelta(days=62), end=now)
    return seller, Bill.objects.get(borrower__seller_key__isnull=False)


@pytest.fixture
def validated_bill(defacto_client, control, marketplace_sends_bills) -> tuple[Any, Bill]:
    control.set_partner_sends_bills(True)
    seller, bill = billed_seller(control)
    assert bill.status == BillStatus.VALIDATED
    return seller, bill


def sent_notices(contract_adapter: Any) -> list[Any]:
    return [e for e in contract_adapter.checked("POST", "/bill/") if e.path.endswith("/sent")]


# ---- the service --------------------------------------------------------------------


def test_a_validated_bill_is_told_sent_once_to_the_sellers_email(validated_bill, contract_adapter):
    seller, bill = validated_bill

    first = mark_bill_sent(bill)
    second = mark_bill_sent(bill)

    assert (first.told_defacto, second.told_defacto) == (True, False)
    [notice] = sent_notices(contract_adapter)
    assert notice.request_body["to_email_addresses"] == [seller.email]
    bill.refresh_from_db()
    assert bill.status == BillStatus.SENT_TO_PAYER
    assert bill.sent_to == [seller.email]
    assert bill.email_sent_to_payer_on is not None
    assert bill.sending_since is None
    # Defacto's copy agrees, and syncing it changes nothing of what was recorded.
    sync_bills(start=bill.start_date, end=bill.end_date)
    bill.refresh_from_db()
    assert bill.status == BillStatus.SENT_TO_PAYER and bill.email_sent_to_payer_on is not None


def test_a_bill_claimed_by_another_process_is_not_told_twice(validated_bill, contract_adapter):
    _, bill = validated_bill
    Bill.objects.filter(pk=bill.pk).update(sending_since=timezone.now())

    outcome = mark_bill_sent(bill)

    assert outcome.told_defacto is False
    assert sent_notices(contract_adapter) == []


def test_a_process_that_died_after_telling_defacto_is_finished_by_the_next(
    validated_bill, contract_adapter, defacto_client
):
    _, bill = validated_bill
    # The first process told Defacto, then died before recording it; its claim expired.
    defacto_client.bills.mark_sent(
        str(bill.defacto_id),
        {"sent_on": timezone.now(), "to_email_addresses": ["first@example.com"]},
    )
    Bill.objects.filter(pk=bill.pk).update(sending_since=timezone.now() - timedelta(hours=1))

    outcome = mark_bill_sent(bill, to_email_addresses=["first@example.com"])

    assert outcome.bill.status == BillStatus.SENT_TO_PAYER
    assert outcome.bill.sending_since is None


def test_a_bill_defacto_sent_meanwhile_is_read_back_not_reported_as_a_failure(
    defacto_client, control, marketplace_sends_bills, contract_adapter
):
    _, bill = billed_seller(control)  # Defacto, not the platform, sends this account's bills
    # The mirror still shows it VALIDATED: it was synced before Defacto sent it.
    Bill.objects.filter(pk=bill.pk).update(status=BillStatus.VALIDATED, email_sent_to_payer_on=None)

    outcome = mark_bill_sent(bill)

    assert outcome.told_defacto is False
    assert [notice.status for notice in sent_notices(contract_adapter)] == [400]
    assert outcome.bill.status in (BillStatus.TO_PAY, BillStatus.PAID)
    assert outcome.bill.email_sent_to_payer_on is not None
    assert outcome.bill.sending_since is None


def test_only_a_validated_bill_can_be_sent(validated_bill, contract_adapter):
    _, bill = validated_bill
    Bill.objects.filter(pk=bill.pk).update(status=BillStatus.GENERATED)

    with pytest.raises(BillNotSendable, match="only a validated bill"):
        mark_bill_sent(bill)

    assert sent_notices(contract_adapter) == []


def test_nothing_is_sent_when_defacto_sends_the_bills(defacto_client, control, contract_adapter):
    _, bill = billed_seller(control)
    assert bill.status in (BillStatus.TO_PAY, BillStatus.PAID)

    with pytest.raises(BillNotSendable, match="MARKETPLACE_SENDS_BILLS"):
        mark_bill_sent(bill)

    assert sent_notices(contract_adapter) == []


# ---- the admin ----------------------------------------------------------------------

MARK_SENT = "mark_sent_selected"


def test_staff_mark_a_bill_sent_once_and_the_history_keeps_it(validated_bill, contract_adapter):
    _, bill = validated_bill
    staff = staff_client("view_bill", "mark_bill_sent")
    day = timezone.localdate()

    answer = run_action(
        staff, MARK_SENT, [bill], sent_on=day.isoformat(), to_email_addresses="ap@seller.example"
    )
    again = confirm_action(
        staff, MARK_SENT, [bill], sent_on=day.isoformat(), to_email_addresses="ap@seller.example"
    )

    assert "Defacto is told it was sent" in " ".join(messages_of(answer))
    assert "already sent" in " ".join(messages_of(again))
    [notice] = sent_notices(contract_adapter)
    assert notice.request_body["to_email_addresses"] == ["ap@seller.example"]
    assert notice.request_body["sent_on"].startswith(day.isoformat())
    [entry] = LogEntry.objects.filter(object_id=str(bill.pk))
    assert "ap@seller.example" in entry.get_change_message()


def test_marking_sent_needs_its_own_permission(validated_bill, contract_adapter):
    _, bill = validated_bill
    viewer = staff_client("view_bill")

    assert MARK_SENT not in action_names(viewer, "bill")
    confirm_action(viewer, MARK_SENT, [bill], sent_on=timezone.localdate().isoformat())

    assert sent_notices(contract_adapter) == []
    bill.refresh_from_db()
    assert bill.status == BillStatus.VALIDATED
    assert MARK_SENT in action_names(staff_client("view_bill", "mark_bill_sent"), "bill")


def test_a_bill_not_validated_is_reported_and_not_sent(validated_bill, contract_adapter):
    _, bill = validated_bill
    Bill.objects.filter(pk=bill.pk).update(status=BillStatus.GENERATED)
    staff = staff_client("view_bill", "mark_bill_sent")

    answer = confirm_action(staff, MARK_SENT, [bill], sent_on=timezone.localdate().isoformat())

    assert "only a validated bill can be sent" in " ".join(messages_of(answer))
    assert sent_notices(contract_adapter) == []
    assert not LogEntry.objects.filter(object_id=str(bill.pk)).exists()


def test_the_action_is_not_offered_when_defacto_sends_the_bills(admin_client):
    assert MARK_SENT not in action_names(admin_client, "bill")
    assert admin_client.get(changelist_url("bill")).status_code == 200


def test_the_date_sent_cannot_be_in_the_future(validated_bill, contract_adapter):
    _, bill = validated_bill
    staff = staff_client("view_bill", "mark_bill_sent")
    tomorrow = timezone.localdate() + timedelta(days=1)

    page = confirm_action(staff, MARK_SENT, [bill], sent_on=tomorrow.isoformat())

    assert page.status_code == 200 and "in the future" in page.content.decode()
    assert sent_notices(contract_adapter) == []


# ---- the seller ---------------------------------------------------------------------


def test_the_seller_sees_their_own_bills_sent_to_them(validated_bill, control):
    seller, bill = validated_bill
    other, _ = ready_seller(control)
    mark_bill_sent(bill)

    mine = signed_in(seller.user).get(api("bills/")).json()
    theirs = signed_in(other.user).get(api("bills/")).json()
    page = signed_in(seller.user).get("/financing/").content.decode()

    [shown] = mine["results"]
    assert shown["id"] == bill.defacto_id and shown["status"] == "SENT_TO_PAYER"
    assert shown["sent_on"] == timezone.localdate(bill.email_sent_to_payer_on).isoformat()
    assert shown["amount"] == bill.to_pay_amount
    assert theirs["count"] == 0
    assert bill.invoice_number in page and "Sent to payer" in page
    assert "No bills yet" in signed_in(other.user).get("/financing/").content.decode()


# ---- the wording ----------------------------------------------------------------------


def quote(cost: int = 1_234) -> Quote:
    now = timezone.now()
    return Quote(
        amount=100_000,
        currency="EUR",
        to_repay_at=now + timedelta(days=30),
        days=30,
        cost=cost,
        cost_is_estimate=True,
        daily_rate=None,
        earliest_repay_at=now + timedelta(days=1),
        latest_repay_at=now + timedelta(days=120),
    )


@pytest.mark.parametrize(
    ("options", "said", "never_said"),
    [
        ({}, "The financing costs about €12.34.", "marketplace"),
        (SENDS_BILLS, "The marketplace bills you this cost monthly", "which the marketplace pays"),
        (
            {"FEES_PAYER": "marketplace"},
            "which the marketplace pays: you repay only the amount lent",
            "bills you",
        ),
    ],
)
def test_the_consent_text_says_who_pays_the_fees(settings, options, said, never_said):
    settings.DEFACTO = {**settings.DEFACTO, **options}

    text = consent_text("INV-1", quote(), auto_validate=False)

    assert said in text
    assert never_said not in text


def test_the_dialog_and_the_offer_say_the_marketplace_pays(defacto_client, control, settings):
    settings.DEFACTO = {**settings.DEFACTO, "FEES_PAYER": "marketplace"}
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=150_000)

    html = render_button(invoice)
    offer = signed_in(seller.user).get(api(f"invoices/{ref(invoice)}/offer/")).json()

    assert "(estimate), paid by the marketplace" in html
    assert "paid by the marketplace" in offer_strings(html)["estimate"]
    assert "which the marketplace pays" in offer["consent_text"]
    assert "which the marketplace pays" in html


def test_the_dialog_says_the_marketplace_bills_the_seller(
    defacto_client, control, marketplace_sends_bills
):
    seller, _ = ready_seller(control)

    html = render_button(make_invoice(seller, total=150_000))

    assert "billed to you monthly by the marketplace" in html
    assert "The marketplace bills you this cost monthly" in html
    assert "paid by the marketplace" not in html


def test_the_transfer_repays_the_amount_lent_whoever_pays_the_interest(
    defacto_client, control, settings
):
    """The interest comes on the monthly bill, so it is never in the repayment transfer
    as well, whoever pays it."""
    seller, _ = ready_seller(control, "SUCCESS_ONE_DAY_LATER")
    loan = cash_in_now(make_invoice(seller, total=240_000), auto_validate=True)
    control.advance_clock(300)
    loan = refresh_loan(loan)
    assert loan.status == LoanStatus.TO_REPAY and loan.fees_estimated

    seller_pays = repayment_instructions(loan)
    settings.DEFACTO = {**settings.DEFACTO, "FEES_PAYER": "marketplace"}
    marketplace_pays = repayment_instructions(loan)

    assert seller_pays is not None and marketplace_pays is not None
    assert seller_pays["amount"] == marketplace_pays["amount"] == loan.amount


def offer_strings(html: str) -> dict[str, str]:
    found = re.search(r'data-strings="([^"]*)"', html)
    assert found
    return json.loads(unescape(found.group(1)))


def test_a_large_selection_is_marked_sent_in_the_background_with_its_history(
    validated_bill, contract_adapter, settings, django_capture_on_commit_callbacks
):
    _, bill = validated_bill
    settings.DEFACTO = {**settings.DEFACTO, "ADMIN_BACKGROUND_THRESHOLD": 0}
    staff = staff_client("view_bill", "mark_bill_sent")

    with django_capture_on_commit_callbacks(execute=True):
        answer = confirm_action(staff, MARK_SENT, [bill], sent_on=timezone.localdate().isoformat())

    assert "in the background" in " ".join(messages_of(answer))
    assert len(sent_notices(contract_adapter)) == 1
    bill.refresh_from_db()
    assert bill.status == BillStatus.SENT_TO_PAYER
    [entry] = LogEntry.objects.filter(object_id=str(bill.pk))
    assert entry.user.username.startswith("staff")
