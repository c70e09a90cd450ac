"""English, French, Spanish, German and Dutch ship with the app and the example marketplace:
a French visitor reads French pages and French API errors, and no catalog leaves anything
untranslated."""

from __future__ import annotations

import ast
import gettext
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

import django_defacto
from django_defacto.models import LoanStatus
from example_project.marketplace import models as marketplace_models
from tests.integration.sellers import ready_seller
from tests.marketplace import make_invoice, make_seller

APP_DIR = Path(django_defacto.__file__).parent
MARKETPLACE_DIR = Path(marketplace_models.__file__).parent
#: The languages of Defacto's five markets beside English, the language of the source.
LANGUAGES = ("fr", "es", "de", "nl")
CATALOGS = {
    f"{name}:{language}": root / "locale" / language / "LC_MESSAGES" / "django.po"
    for name, root in (("django_defacto", APP_DIR), ("marketplace", MARKETPLACE_DIR))
    for language in LANGUAGES
}
# Code that never reaches a marketplace user: Defacto's offline double and the HTTP client.
NOT_TRANSLATED = ("sandbox", "client", "migrations", "contract")


def _unquote(line: str) -> str:
    return ast.literal_eval(line.strip())


def read_po(path: Path) -> list[dict]:
    """The catalog's entries: msgctxt, msgid, msgid_plural, msgstr (a list) and flags."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": "", "msgstr": []}
        key = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if key == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[key] += _unquote(line)
            else:
                key, _, value = line.partition(" ")
                if key.startswith("msgstr"):
                    entry["msgstr"].append(_unquote(value))
                    key = "msgstr"
                else:
                    entry[key] = _unquote(value)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def text_of(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def french(seller=None) -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    if seller is not None:
        browser.force_login(seller.user)
    return browser


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_the_catalog_has_no_untranslated_or_fuzzy_entry(catalog):
    entries = read_po(CATALOGS[catalog])

    assert len(entries) > 50
    untranslated = [entry["msgid"] for entry in entries if not all(entry["msgstr"])]
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert untranslated == [] and fuzzy == []


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_the_compiled_catalog_matches_the_po_file(catalog):
    """The .mo files ship (users have no gettext tools): they must say what the .po says."""
    with CATALOGS[catalog].with_suffix(".mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    for entry in read_po(CATALOGS[catalog]):
        if "msgid_plural" in entry:
            for count, expected in ((1, entry["msgstr"][0]), (2, entry["msgstr"][1])):
                assert mo.ngettext(entry["msgid"], entry["msgid_plural"], count) == expected
        elif "msgctxt" in entry:
            assert mo.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"][0]
        else:
            assert mo.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


def _marked_strings(root: Path) -> set[str]:
    """The literal strings the Python code of `root` marks for translation."""
    names = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext"}
    found = set()
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).parts
        if relative[0] in NOT_TRANSLATED or "locale" in relative:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[1] if name == "pgettext" and len(node.args) > 1 else node.args[0]
            if name in names and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def _template_strings(root: Path) -> set[str]:
    pattern = re.compile(r"{%\s*(?:translate|trans)\s+(\"[^\"]*\"|'[^']*')")
    found = set()
    for path in root.rglob("*.html"):
        found.update(_unquote(match) for match in pattern.findall(path.read_text()))
    return found


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_every_string_marked_for_translation_is_in_the_catalog(catalog):
    """Fails when a new string was marked but `django-admin makemessages -a` was not run
    again (then translate it and run `django-admin compilemessages`)."""
    root = APP_DIR if catalog.startswith("django_defacto:") else MARKETPLACE_DIR
    known = {entry["msgid"] for entry in read_po(CATALOGS[catalog])}

    missing = (_marked_strings(root) | _template_strings(root)) - known

    assert missing == set()


@pytest.mark.django_db
def test_a_french_visitor_reads_the_login_page_in_french():
    words = text_of(french().get(reverse("marketplace:login")))

    assert "Connexion" in words and "Mot de passe" in words and "Langue" in words


@pytest.mark.django_db
def test_a_french_seller_reads_invoices_amounts_and_statuses_in_french():
    seller = make_seller()
    make_invoice(seller, total=123_456)

    page = french(seller).get(reverse("marketplace:invoices"))

    words = text_of(page)
    assert 'lang="fr"' in page.content.decode()
    assert "Mes factures" in words and "Mon financement" in words
    assert "Non financée" in words and "Échéance" in words
    # French groups thousands and puts the symbol after, with spaces that never break.
    assert "1\N{NARROW NO-BREAK SPACE}234,56\N{NO-BREAK SPACE}€" in page.content.decode()


@pytest.mark.django_db
def test_the_language_switcher_keeps_the_chosen_language():
    seller = make_seller()
    browser = Client()
    browser.force_login(seller.user)
    assert "My financing" in text_of(browser.get(reverse("marketplace:financing")))

    switched = browser.post(
        reverse("set_language"),
        {"language": "fr", "next": reverse("marketplace:financing")},
        follow=True,
    )

    words = text_of(switched)
    assert "Inscription chez Defacto" in words and "Non inscrit" in words
    assert "J'accepte les conditions de financement de Defacto" in words


@pytest.mark.django_db
def test_a_french_seller_gets_french_api_error_messages():
    seller = make_seller()
    browser = french(seller)

    refused = browser.post(
        reverse("django_defacto:api-enroll"), {}, content_type="application/json"
    )

    assert refused.status_code == 400
    assert refused.json()["code"] == "terms_not_accepted"
    assert refused.json()["message"] == "Acceptez les conditions de Defacto pour vous inscrire."
    invoice = make_invoice(seller)
    offer = browser.get(
        reverse("django_defacto:api-offer", args=[f"marketplace.invoice:{invoice.pk}"])
    ).json()
    assert offer["eligible"] is False
    assert "Le vendeur n'est pas encore inscrit chez Defacto." in [
        reason["message"] for reason in offer["reasons"]
    ]


@pytest.mark.django_db
def test_a_user_who_is_not_a_seller_is_told_so_in_french(admin_user):
    browser = french()
    browser.force_login(admin_user)

    answer = browser.get(reverse("django_defacto:api-financing"))

    assert answer.status_code == 403
    assert answer.json() == {
        "code": "not_a_seller",
        "message": "Ce compte n'est pas un vendeur de la place de marché.",
    }


def test_loan_statuses_read_in_french():
    with translation.override("fr"):
        assert str(LoanStatus.TO_REPAY.label) == "Versé, à rembourser"
        assert str(LoanStatus.DECLINED.label) == "Refusé"


@pytest.mark.django_db
def test_french_staff_see_the_apps_admin_title_in_french(admin_user):
    browser = french()
    browser.force_login(admin_user)

    words = text_of(browser.get(reverse("admin:index")))

    assert "Financement Defacto" in words and "Defacto financing" not in words


@pytest.mark.django_db
def test_a_french_seller_reads_the_offer_with_french_money_and_dates(defacto_client, control):
    seller, _ = ready_seller(control)
    invoice = make_invoice(seller, total=576_000)

    offer = french(seller).get(
        reverse("django_defacto:api-offer", args=[f"marketplace.invoice:{invoice.pk}"])
    )

    consent = offer.json()["consent_text"]
    repay_on = date.fromisoformat(offer.json()["quote"]["to_repay_at"][:10])
    assert "5\N{NARROW NO-BREAK SPACE}760,00\N{NO-BREAK SPACE}€" in consent
    assert repay_on.isoformat() not in consent
    with translation.override("fr"):
        assert date_format(repay_on, "DATE_FORMAT") in consent  # "6 janvier 2027"
