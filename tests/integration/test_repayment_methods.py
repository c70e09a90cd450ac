"""How a seller repays Defacto: SEPA Credit Transfer (the start) or SEPA Direct Debit from
its own account, chosen and changed at any time, from the seller API, the financing
page and the admin; accounts never stored beyond their last four characters."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_defacto.exceptions import InvalidSellerDetails
from django_defacto.services.borrowers import (
    borrower_for_seller,
    choose_repayment_method,
    repayment_methods,
)
from tests.integration.api_steps import api, signed_in
from tests.integration.sellers import ready_seller

pytestmark = pytest.mark.django_db

IBAN = "DE89370400440532013000"


def test_a_seller_starts_by_transfer_then_chooses_direct_debit_and_back(
    defacto_client, control, contract_adapter
):
    seller, borrower = ready_seller(control)

    first = repayment_methods(borrower)
    assert [(method.kind, method.is_default) for method in first] == [("SCT", True)]

    chosen = choose_repayment_method(borrower, "DIRECT_DEBIT", iban=IBAN, bic="COBADEFFXXX")

    assert (chosen.kind, chosen.is_default, chosen.account_end) == ("DIRECT_DEBIT", True, "…3000")
    [post] = contract_adapter.checked("POST", f"/borrower/{borrower.defacto_id}/repayment-methods")
    assert post.request_body["from_account"] == {
        "account_number": IBAN,
        "bank_identifier": "COBADEFFXXX",
    }
    borrower = borrower_for_seller(seller)
    assert (borrower.repayment_method, borrower.repayment_account_end) == ("DIRECT_DEBIT", "…3000")
    assert IBAN not in str(borrower.raw)
    # Changed again: credit transfer is the default once more.
    choose_repayment_method(borrower, "SCT")
    kinds = [(method.kind, method.is_default) for method in repayment_methods(borrower)]
    assert kinds == [("SCT", True), ("DIRECT_DEBIT", False)]


def test_an_account_that_cannot_be_valid_is_refused_before_defacto_hears_of_it(
    defacto_client, control, contract_adapter
):
    _, borrower = ready_seller(control)

    with pytest.raises(InvalidSellerDetails) as caught:
        choose_repayment_method(borrower, "DIRECT_DEBIT", iban="DE89370400440532013001", bic="NOPE")

    assert [field for field, _ in caught.value.problems] == ["iban", "bic"]
    assert (
        contract_adapter.checked("POST", f"/borrower/{borrower.defacto_id}/repayment-methods") == []
    )


def test_the_seller_chooses_from_the_api_and_sees_it_in_the_financing(defacto_client, control):
    seller, _ = ready_seller(control)
    browser = signed_in(seller.user)

    answer = browser.post(
        api("financing/repayment-method/"),
        {"payment_method": "DIRECT_DEBIT", "iban": IBAN},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["repayment_method"] == {
        "kind": "DIRECT_DEBIT",
        "name": "SEPA Direct Debit",
        "account_end": "…3000",
    }
    refused = browser.post(
        api("financing/repayment-method/"),
        {"payment_method": "DIRECT_DEBIT"},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert refused.json()["missing"][0]["code"] == "iban"


def test_the_seller_changes_it_on_the_financing_page_and_staff_see_it(
    defacto_client, control, admin_client
):
    seller, borrower = ready_seller(control)
    client = Client()
    client.force_login(seller.user)

    answer = client.post(
        reverse("marketplace:repayment_method"), {"payment_method": "DIRECT_DEBIT", "iban": IBAN}
    )
    page = client.get(reverse("marketplace:financing")).content.decode()
    admin = admin_client.get(
        reverse("admin:django_defacto_borrower_change", args=[borrower.pk])
    ).content.decode()

    assert answer.status_code == 302
    assert "SEPA Direct Debit (account ending in …3000)" in page
    assert "SEPA Direct Debit" in admin and "…3000" in admin


def repayment_page(borrower) -> str:
    return reverse("admin:django_defacto_borrower_repayment_method", args=[borrower.pk])


def test_staff_switch_a_seller_to_direct_debit_from_the_admin(
    defacto_client, control, admin_client
):
    _, borrower = ready_seller(control)
    change_page = reverse("admin:django_defacto_borrower_change", args=[borrower.pk])
    assert repayment_page(borrower) in admin_client.get(change_page).content.decode()

    refused = admin_client.post(repayment_page(borrower), {"payment_method": "DIRECT_DEBIT"})
    assert refused.status_code == 200
    assert "The IBAN is missing." in refused.content.decode()
    assert repayment_methods(borrower)[0].kind == "SCT"  # Defacto was not asked to change

    saved = admin_client.post(
        repayment_page(borrower),
        {"payment_method": "DIRECT_DEBIT", "iban": IBAN, "apply_to_active_loans": "on"},
        follow=True,
    )

    assert saved.redirect_chain[-1][0] == change_page
    assert "now repays by SEPA Direct Debit" in saved.content.decode()
    [method, *_] = repayment_methods(borrower)
    assert (method.kind, method.is_default, method.account_end) == ("DIRECT_DEBIT", True, "…3000")
    entry = LogEntry.objects.get(object_id=str(borrower.pk))
    assert "SEPA Direct Debit" in entry.get_change_message()


def test_staff_who_may_only_view_borrowers_cannot_change_how_they_repay(
    defacto_client, control, django_user_model
):
    _, borrower = ready_seller(control)
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_borrower"))
    browser = Client()
    browser.force_login(viewer)

    page = browser.get(reverse("admin:django_defacto_borrower_change", args=[borrower.pk]))
    refused = browser.post(repayment_page(borrower), {"payment_method": "SCT"})

    assert page.status_code == 200
    assert refused.status_code == 403
    assert repayment_methods(borrower)[0].kind == "SCT"
