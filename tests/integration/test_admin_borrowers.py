"""Borrowers in the admin: enrolling a marketplace seller, recording its acceptance of
Defacto's terms, and its credit line at a glance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from django_defacto.conf import get_adapter
from django_defacto.models import Borrower, BorrowerStatus, CreditLine
from django_defacto.services.borrowers import enroll_seller
from tests.integration.admin_steps import (
    action_names,
    change_url,
    changelist_url,
    choose_action,
    confirm_action,
    messages_of,
    run_action,
    staff_client,
)
from tests.integration.sellers import ready_seller
from tests.marketplace import make_seller

pytestmark = pytest.mark.django_db

ENROLL_URL = "admin:django_defacto_borrower_enroll"


def seller_key(seller) -> str:
    return get_adapter().seller_key(seller)


def test_the_enrol_page_lists_marketplace_sellers_not_enrolled_yet(admin_client, defacto_client):
    waiting = make_seller("SUCCESS", name="Menuiserie Petit")
    enrolled = make_seller("SUCCESS", name="Verrerie Grand")
    enroll_seller(enrolled)

    response = admin_client.get(reverse(ENROLL_URL))

    choices = dict(response.context["form"].fields["seller"].choices)
    assert choices[seller_key(waiting)] == "Menuiserie Petit"
    assert seller_key(enrolled) not in choices
    assert "The seller accepted Defacto&#x27;s terms" in response.content.decode()


def test_enrolling_a_seller_who_accepted_the_terms_signs_it_at_defacto(
    admin_client, defacto_client
):
    seller = make_seller("SUCCESS")

    response = admin_client.post(
        reverse(ENROLL_URL), {"seller": seller_key(seller), "terms_accepted": "on"}
    )

    borrower = Borrower.objects.get(seller_key=seller_key(seller))
    assert response.status_code == 302
    assert response["Location"] == change_url(borrower)
    assert borrower.is_enrolled
    assert borrower.terms_accepted_at is not None
    assert borrower.status != BorrowerStatus.TO_SIGN
    assert "is enrolled with Defacto" in messages_of(response)[0]


def test_a_seller_enrolled_without_the_terms_waits_for_them_then_they_are_recorded(
    admin_client, defacto_client
):
    seller = make_seller("SUCCESS")
    admin_client.post(reverse(ENROLL_URL), {"seller": seller_key(seller)})
    borrower = Borrower.objects.get(seller_key=seller_key(seller))
    assert borrower.status == BorrowerStatus.TO_SIGN

    unticked = confirm_action(admin_client, "record_terms_selected", [borrower])
    assert unticked.status_code == 200
    assert "This field is required." in unticked.content.decode()
    borrower.refresh_from_db()
    assert borrower.terms_accepted_at is None

    response = run_action(admin_client, "record_terms_selected", [borrower], accepted="on")

    assert response.status_code == 302
    borrower.refresh_from_db()
    assert borrower.terms_accepted_at is not None
    assert borrower.status == BorrowerStatus.SIGNED
    assert "Signed" in messages_of(response)[0]


def test_enrolment_refused_by_defacto_is_reported_without_an_error_page(
    admin_client, defacto_client, control
):
    seller = make_seller("SUCCESS")
    control.add_fault("http_500", next=10, path="/borrowers")

    response = admin_client.post(
        reverse(ENROLL_URL), {"seller": seller_key(seller), "terms_accepted": "on"}
    )

    assert response.status_code == 200
    assert "unavailable" in messages_of(response)[0]
    assert not Borrower.objects.filter(seller_key=seller_key(seller), defacto_id__isnull=False)


def test_selected_sellers_not_enrolled_yet_are_enrolled(admin_client, defacto_client):
    seller = make_seller("SUCCESS", name="Fonderie Lenoir")
    pending = Borrower.objects.create(
        seller_key=seller_key(seller),
        identifier=seller.legal_identifier,
        name=seller.name,
        terms_accepted_at=timezone.now(),
    )
    gone = Borrower.objects.create(seller_key="marketplace.seller:999999", identifier="123")

    response = run_action(admin_client, "enroll_selected", [pending, gone])

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.is_enrolled
    assert pending.status == BorrowerStatus.SIGNED
    reports = messages_of(response)
    assert any("Fonderie Lenoir" in text and "Signed" in text for text in reports)
    assert any("no longer knows this seller" in text for text in reports)


def test_refreshing_shows_the_credit_line_once_defacto_opens_it(
    admin_client, defacto_client, control
):
    seller = make_seller("SUCCESS", name="Tissage Roux")
    borrower = enroll_seller(seller, terms_accepted_at=timezone.now())
    assert "none yet" in admin_client.get(changelist_url("borrower")).content.decode()
    control.advance_clock(5)

    response = run_action(admin_client, "refresh_selected", [borrower])

    borrower.refresh_from_db()
    assert borrower.status == BorrowerStatus.READY
    line = CreditLine.objects.get(borrower=borrower)
    [message] = messages_of(response)
    assert "Ready" in message
    assert "credit line" in message
    html = admin_client.get(changelist_url("borrower")).content.decode()
    available = f"€{line.balance_available // 100:,}.{line.balance_available % 100:02d}"
    assert f"€0.00 / {available}" in html


def test_the_credit_line_column_shows_the_current_line_used_and_available(admin_client):
    borrower = Borrower.objects.create(
        seller_key="marketplace.seller:1", identifier="552100554", name="Forge Blanc"
    )
    now = timezone.now()
    CreditLine.objects.create(
        borrower=borrower,
        pool_amount=5_000_000,
        balance_available=5_000_000,
        start_date=now - timedelta(days=400),
        end_date=now - timedelta(days=35),
    )
    CreditLine.objects.create(
        borrower=borrower,
        pool_amount=2_000_000,
        balance_available=1_250_000,
        start_date=now - timedelta(days=35),
        end_date=now + timedelta(days=330),
    )

    html = admin_client.get(changelist_url("borrower")).content.decode()

    assert "€7,500.00 / €12,500.00" in html


def test_borrowers_are_view_only_and_their_actions_need_permissions(defacto_client):
    borrower = Borrower.objects.create(seller_key="marketplace.seller:2", identifier="1")
    viewer = staff_client("view_borrower")

    assert action_names(viewer, "borrower") == []
    assert viewer.get(reverse(ENROLL_URL)).status_code == 403
    assert viewer.post(change_url(borrower), {"name": "x"}).status_code == 403
    assert "Enroll a seller" not in viewer.get(changelist_url("borrower")).content.decode()

    manager = staff_client("view_borrower", "change_borrower", "add_borrower")
    assert set(action_names(manager, "borrower")) == {
        "enroll_selected",
        "record_terms_selected",
        "refresh_selected",
    }
    assert manager.get(reverse(ENROLL_URL)).status_code == 200
    assert "Enroll a seller" in manager.get(changelist_url("borrower")).content.decode()


def test_the_terms_confirmation_page_lists_the_sellers(admin_client, defacto_client, control):
    _seller, borrower = ready_seller(control)

    page = choose_action(admin_client, "record_terms_selected", [borrower])

    html = page.content.decode()
    assert str(borrower) in html
    assert 'name="accepted"' in html


def test_terms_recorded_for_many_sellers_are_signed_in_the_background(
    admin_client, defacto_client, settings, django_capture_on_commit_callbacks
):
    settings.DEFACTO = {**settings.DEFACTO, "ADMIN_BACKGROUND_THRESHOLD": 1}
    borrowers = [enroll_seller(make_seller("SUCCESS")) for _ in range(2)]

    with django_capture_on_commit_callbacks() as queued:
        response = run_action(admin_client, "record_terms_selected", borrowers, accepted="on")
    assert "2 borrowers will be handled in the background" in messages_of(response)[0]
    assert all(
        borrower.status == BorrowerStatus.TO_SIGN
        for borrower in Borrower.objects.filter(pk__in=[b.pk for b in borrowers])
    )

    for callback in queued:
        callback()  # the example project runs Celery tasks eagerly

    for borrower in borrowers:
        borrower.refresh_from_db()
        assert borrower.terms_accepted_at is not None
        assert borrower.status == BorrowerStatus.SIGNED
