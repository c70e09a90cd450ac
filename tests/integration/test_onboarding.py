"""Enrolling sellers as Defacto borrowers: the terms, the credit line, and never twice."""

from __future__ import annotations

from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
import requests
from django.utils import timezone
from requests.adapters import BaseAdapter

from django_defacto.client import DefactoClient
from django_defacto.conf import use_client
from django_defacto.exceptions import DefactoUnavailable, EnrollmentIncomplete
from django_defacto.models import Borrower, CreditLine
from django_defacto.services.borrowers import (
    borrower_for_seller,
    current_credit_line,
    enroll_seller,
    record_terms_acceptance,
    refresh_borrower,
    refresh_credit_lines,
)
from tests.conftest import IN_PROCESS_URL, TEST_API_KEY
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db


def borrowers_at_defacto(control) -> int:
    return control.state()["counts"]["borrowers"]


def test_enrolling_with_accepted_terms_signs_at_defacto_and_the_credit_line_follows(
    defacto_client, control, contract_adapter
):
    seller = make_seller("SUCCESS", language="")  # no language chosen
    accepted_at = timezone.now() - timedelta(minutes=2)

    borrower = enroll_seller(seller, terms_accepted_at=accepted_at)

    assert borrower.is_enrolled
    assert borrower.seller_key == f"marketplace.seller:{seller.pk}"
    assert borrower_for_seller(seller) == borrower
    assert borrower.status == "SIGNED"
    assert borrower.terms_accepted_at == accepted_at
    [post] = contract_adapter.checked("POST", "/borrowers")
    assert post.request_body == {
        "identifier": seller.legal_identifier,
        "identifier_type": "siren",
        "name": seller.name,
        "account_number": seller.iban,
        "signed_at": accepted_at.astimezone(dt_timezone.utc).isoformat(),
        "preferred_language": "fr",  # the example adapter's, from the seller's country
    }

    control.advance_clock(5)
    borrower = refresh_borrower(borrower)
    lines = refresh_credit_lines(borrower)

    assert borrower.status == "READY"
    [line] = lines
    assert line.borrower == borrower
    assert line.balance_available > 0
    assert line.fees_daily_rate is not None
    assert current_credit_line(borrower) == line


def test_the_local_borrower_is_saved_before_defacto_is_called(defacto_client, control):
    seller = make_seller()
    control.add_fault("http_500", rate=1, path="/borrowers")

    with pytest.raises(DefactoUnavailable):
        enroll_seller(seller, terms_accepted_at=timezone.now())

    borrower = Borrower.objects.get(seller_key=f"marketplace.seller:{seller.pk}")
    assert borrower.identifier == seller.legal_identifier
    assert borrower.terms_accepted_at is not None
    assert not borrower.is_enrolled


def test_a_seller_enrolled_without_terms_signs_later(defacto_client, control, contract_adapter):
    seller = make_seller()
    borrower = enroll_seller(seller)
    assert borrower.status == "TO_SIGN"
    assert "signed_at" not in contract_adapter.checked("POST", "/borrowers")[0].request_body

    accepted_at = timezone.now()
    borrower = record_terms_acceptance(borrower, accepted_at)

    assert borrower.status == "SIGNED"
    assert borrower.terms_accepted_at == accepted_at
    [sign] = contract_adapter.checked("POST", f"/borrower/{borrower.defacto_id}/sign")
    assert sign.request_body == {"signed_at": accepted_at.astimezone(dt_timezone.utc).isoformat()}


def test_enrolling_an_enrolled_seller_again_asks_defacto_nothing_new(
    defacto_client, control, contract_adapter
):
    seller = make_seller()
    first = enroll_seller(seller, terms_accepted_at=timezone.now())

    again = enroll_seller(seller, terms_accepted_at=timezone.now())

    assert again.pk == first.pk
    assert len(contract_adapter.checked("POST", "/borrowers")) == 1
    assert borrowers_at_defacto(control) == 1


def test_a_timeout_after_defacto_enrolled_the_seller_adopts_that_borrower(
    defacto_client, control, contract_adapter
):
    seller = make_seller()
    control.add_fault("timeout_504_after", next=1, path="/borrowers", method="POST")

    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())

    assert borrower.is_enrolled
    assert borrower.status == "SIGNED"
    assert len(contract_adapter.checked("POST", "/borrowers")) == 1
    assert borrowers_at_defacto(control) == 1


def test_a_dropped_enrolment_is_tried_again_later_and_makes_one_borrower(
    defacto_client, control, contract_adapter
):
    seller = make_seller()
    control.add_fault("connection_reset", next=1, path="/borrowers", method="POST")

    with pytest.raises(DefactoUnavailable) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())
    assert "may still have" in caught.value.message

    borrower = enroll_seller(seller)

    assert borrower.is_enrolled
    assert borrower.status == "SIGNED"  # the terms recorded the first time were sent
    assert borrowers_at_defacto(control) == 1
    assert Borrower.objects.count() == 1


def test_a_borrower_defacto_already_has_is_adopted_without_creating_one(
    defacto_client, control, contract_adapter
):
    seller = make_seller()
    existing = defacto_client.borrowers.create({"identifier": seller.legal_identifier})

    borrower = enroll_seller(seller)

    assert borrower.defacto_id == existing["id"]
    assert len(contract_adapter.checked("POST", "/borrowers")) == 1  # only the one above
    assert borrowers_at_defacto(control) == 1


class DuplicatedEnrolment(BaseAdapter):
    """Delivers the first POST /borrowers twice, as when another worker enrolls the same
    seller at the same moment: the copy that comes second meets "already exists"."""

    def __init__(self, inner: BaseAdapter) -> None:
        super().__init__()
        self.inner = inner
        self.duplicated = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.method == "POST" and request.path_url == "/borrowers" and not self.duplicated:
            self.duplicated = True
            self.inner.send(request.copy(), **kwargs)
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()


def test_borrower_already_exists_from_a_concurrent_enrolment_is_adopted(
    defacto_client, control, contract_adapter
):
    seller = make_seller()
    session = requests.Session()
    session.mount(IN_PROCESS_URL, DuplicatedEnrolment(contract_adapter))
    racing = DefactoClient(TEST_API_KEY, base_url=IN_PROCESS_URL, session=session)

    with use_client(racing):
        borrower = enroll_seller(seller, terms_accepted_at=timezone.now())

    statuses = [exchange.status for exchange in contract_adapter.checked("POST", "/borrowers")]
    assert statuses == [201, 400]
    assert borrower.is_enrolled
    assert borrower.enrollment_error == ""
    assert borrowers_at_defacto(control) == 1


def test_missing_company_data_is_named_in_words_and_kept_on_the_borrower(defacto_client):
    seller = make_seller()
    seller.legal_identifier = "000481515"
    seller.save()

    with pytest.raises(EnrollmentIncomplete) as caught:
        enroll_seller(seller, terms_accepted_at=timezone.now())

    assert caught.value.code == "enrollment_incomplete"
    assert caught.value.missing == ["directors"]
    assert "directors" in caught.value.message
    borrower = borrower_for_seller(seller)
    assert not borrower.is_enrolled
    assert borrower.enrollment_error == caught.value.message


def test_a_seller_without_iban_hears_that_direct_debit_needs_one(defacto_client):
    seller = make_seller()
    seller.legal_identifier = "000271825"
    seller.iban = ""
    seller.save()

    with pytest.raises(EnrollmentIncomplete) as caught:
        enroll_seller(seller)

    assert caught.value.missing == ["directors", "account_number"]
    assert "IBAN" in caught.value.message
    assert "direct debit" in caught.value.message


def test_refreshing_a_borrower_whose_enrolment_got_through_after_all_adopts_it(
    defacto_client, control
):
    seller = make_seller()
    control.add_fault("http_500", next=1, path="/borrowers", method="POST")
    with pytest.raises(DefactoUnavailable):
        enroll_seller(seller)
    borrower = borrower_for_seller(seller)
    assert not borrower.is_enrolled
    # Defacto has the borrower after all (the failed request did reach it).
    existing = defacto_client.borrowers.create({"identifier": seller.legal_identifier})

    borrower = refresh_borrower(borrower)

    assert borrower.defacto_id == existing["id"]
    assert borrower.status == "TO_SIGN"
    assert borrowers_at_defacto(control) == 1


def test_the_current_credit_line_is_the_latest_one_not_expired(defacto_client, control):
    seller = make_seller()
    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())
    control.advance_clock(5)
    [line] = refresh_credit_lines(borrower)
    now = timezone.now()
    CreditLine.objects.create(
        borrower=borrower,
        borrower_identifier=borrower.identifier,
        start_date=now,
        end_date=now - timedelta(seconds=1),
    )

    assert current_credit_line(borrower) == line

    CreditLine.objects.filter(pk=line.pk).update(end_date=now - timedelta(days=1))
    assert current_credit_line(borrower) is None
