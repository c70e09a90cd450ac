"""System checks of the DEFACTO setting: each mistake is reported under its stable id."""

from __future__ import annotations

import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_defacto.checks import TAG
from django_defacto.client.api import PRODUCTION_URL, SANDBOX_URL

ADAPTER = "example_project.marketplace.defacto_adapter.MarketplaceAdapter"
SANDBOX_KEY = "sk_sandbox_Qm9vbGVhbkZyb21UaGVTZWE"
LIVE_KEY = "sk_live_Qm9vbGVhbkZyb21UaGVTZWE"
OPAQUE_KEY = "k9Fz2Lw8Qm4Tx7Rb"


def defacto_messages(**defacto):
    with override_settings(DEFACTO=defacto):
        return run_checks(tags=[TAG])


def ids(messages):
    return [message.id for message in messages]


# `manage.py check` runs the database-related checks too; from Django 6.1 they query every
# database (SQLite is asked whether it supports JSON fields), so the test needs one.
@pytest.mark.django_db
def test_the_example_project_passes_manage_py_check_clean():
    out = io.StringIO()
    call_command("check", stdout=out)
    assert "System check identified no issues" in out.getvalue()
    assert run_checks(tags=[TAG]) == []


@pytest.mark.django_db
def test_a_missing_api_key_is_an_error_that_stops_manage_py_check():
    assert ids(defacto_messages(ADAPTER=ADAPTER)) == ["django_defacto.E001"]
    with override_settings(DEFACTO={"ADAPTER": ADAPTER}), pytest.raises(SystemCheckError):
        call_command("check", stdout=io.StringIO())


@pytest.mark.parametrize(
    "options",
    [
        {"API_KEY": SANDBOX_KEY},
        {"API_KEY": "sk_test_Qm9vbGVhbkZyb20"},
        {"API_KEY": OPAQUE_KEY, "ENVIRONMENT": "sandbox"},
    ],
    ids=["sandbox marker", "test marker", "ENVIRONMENT setting"],
)
def test_a_sandbox_key_with_the_production_url_is_warned_about(options):
    messages = defacto_messages(ADAPTER=ADAPTER, BASE_URL=PRODUCTION_URL, **options)
    assert ids(messages) == ["django_defacto.W002"]
    assert "ENVIRONMENT" in messages[0].hint  # the hint says how the key kind is decided


@pytest.mark.parametrize(
    ("options", "base_url"),
    [
        ({"API_KEY": LIVE_KEY}, SANDBOX_URL),
        ({"API_KEY": "sk_prod_Qm9vbGVhbkZyb20"}, "http://localhost:8765"),
        ({"API_KEY": OPAQUE_KEY, "ENVIRONMENT": "production"}, "http://127.0.0.1:8765/"),
    ],
    ids=["live marker, sandbox host", "prod marker, localhost", "ENVIRONMENT setting, 127.0.0.1"],
)
def test_a_production_key_with_a_sandbox_url_is_warned_about(options, base_url):
    messages = defacto_messages(ADAPTER=ADAPTER, BASE_URL=base_url, **options)
    assert ids(messages) == ["django_defacto.W003"]


@pytest.mark.parametrize(
    ("options", "base_url"),
    [
        ({"API_KEY": OPAQUE_KEY}, PRODUCTION_URL),
        ({"API_KEY": OPAQUE_KEY}, SANDBOX_URL),
        ({"API_KEY": LIVE_KEY}, PRODUCTION_URL),
        ({"API_KEY": SANDBOX_KEY}, SANDBOX_URL),
        ({"API_KEY": "sk_test_live_mixed"}, PRODUCTION_URL),
        ({"API_KEY": SANDBOX_KEY, "ENVIRONMENT": "production"}, PRODUCTION_URL),
        ({"API_KEY": LIVE_KEY}, "https://defacto.internal.example.com"),
    ],
    ids=[
        "unknown key, production",
        "unknown key, sandbox",
        "live key, production",
        "sandbox key, sandbox",
        "contradictory markers",
        "ENVIRONMENT wins over markers",
        "unknown URL",
    ],
)
def test_no_warning_when_key_and_url_agree_or_the_key_kind_is_unknown(options, base_url):
    assert defacto_messages(ADAPTER=ADAPTER, BASE_URL=base_url, **options) == []


def test_an_unknown_environment_value_is_warned_about_and_ignored():
    messages = defacto_messages(
        API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, BASE_URL=PRODUCTION_URL, ENVIRONMENT="staging"
    )
    assert ids(messages) == ["django_defacto.W010", "django_defacto.W002"]


def test_a_missing_adapter_is_an_error():
    assert ids(defacto_messages(API_KEY=SANDBOX_KEY)) == ["django_defacto.E004"]


@pytest.mark.parametrize(
    "path",
    [
        "marketplace_that_does_not_exist.defacto.Adapter",
        "example_project.marketplace.models.Seller",
    ],
    ids=["not importable", "not a MarketplaceAdapter"],
)
def test_a_wrong_adapter_path_is_an_error_naming_it(path):
    messages = defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=path)
    assert ids(messages) == ["django_defacto.E005"]
    assert path in messages[0].msg


def test_webhooks_enabled_without_a_token_is_an_error():
    messages = defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, WEBHOOKS_ENABLED=True)
    assert ids(messages) == ["django_defacto.E006"]
    assert "WEBHOOK_TOKENS" in messages[0].hint
    assert (
        defacto_messages(
            API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, WEBHOOKS_ENABLED=True, WEBHOOK_TOKENS=["s3cr3t"]
        )
        == []
    )


def test_who_pays_the_fees_must_be_the_seller_or_the_marketplace():
    messages = defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, FEES_PAYER="buyer")
    assert ids(messages) == ["django_defacto.E012"]
    assert "FEES_PAYER" in messages[0].msg
    for payer in ("seller", "marketplace", "Marketplace"):
        assert defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, FEES_PAYER=payer) == []


def test_the_marketplace_cannot_send_bills_for_fees_it_pays_itself():
    messages = defacto_messages(
        API_KEY=SANDBOX_KEY,
        ADAPTER=ADAPTER,
        FEES_PAYER="marketplace",
        MARKETPLACE_SENDS_BILLS=True,
    )
    assert ids(messages) == ["django_defacto.E013"]
    assert (
        defacto_messages(
            API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, FEES_PAYER="seller", MARKETPLACE_SENDS_BILLS=True
        )
        == []
    )


def test_a_misspelt_key_is_warned_about_with_the_likely_intended_key():
    messages = defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, WEBHOOK_TOKEN="s3cr3t")
    assert ids(messages) == ["django_defacto.W007"]
    assert "'WEBHOOK_TOKEN'" in messages[0].msg
    assert "Did you mean 'WEBHOOK_TOKENS'?" in messages[0].hint


def test_defacto_setting_that_is_not_a_dict_is_an_error():
    with override_settings(DEFACTO=[("API_KEY", SANDBOX_KEY)]):
        assert ids(run_checks(tags=[TAG])) == ["django_defacto.E008"]


def test_a_value_of_the_wrong_type_is_an_error_rather_than_a_crash():
    messages = defacto_messages(API_KEY=SANDBOX_KEY, ADAPTER=ADAPTER, MAX_RETRIES="three")
    assert ids(messages) == ["django_defacto.E009"]


def test_no_message_ever_shows_the_api_key():
    cases = [
        {"API_KEY": SANDBOX_KEY, "BASE_URL": PRODUCTION_URL, "ADAPTER": "nowhere.Adapter"},
        {"API_KEY": LIVE_KEY, "BASE_URL": SANDBOX_URL, "WEBHOOKS_ENABLED": True, "TYPO": 1},
    ]
    for options in cases:
        messages = defacto_messages(**options)
        assert len(messages) >= 2
        for message in messages:
            assert options["API_KEY"] not in f"{message.msg} {message.hint}"
            assert "Qm9vbGVhbkZyb21UaGVTZWE" not in f"{message.msg} {message.hint}"
