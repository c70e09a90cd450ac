"""The public service API: what `django_defacto.services` lists is what the guide's
"Services reference" documents, and the old documented import paths still work, with a
warning that names the new one."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

import django_defacto.services as services

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide.md"


def reference_section() -> str:
    text = GUIDE.read_text()
    start = text.index("\n## Services reference\n")
    return text[start : text.index("\n## ", start + 1)]


def test_every_public_service_is_documented_and_every_documented_one_exists():
    documented = set(re.findall(r"^\| `([A-Za-z_]+)", reference_section(), flags=re.M))

    assert documented == set(services.__all__)


def test_each_name_the_package_lists_is_importable_from_it():
    missing = [name for name in services.__all__ if not hasattr(services, name)]

    assert missing == []


@pytest.mark.parametrize(
    ("old_path", "names"),
    [
        ("django_defacto.services.eligibility", ["check_eligibility", "Eligibility", "Quote"]),
        ("django_defacto.services.wire", ["invoice_item", "invoice_creation"]),
    ],
)
def test_the_old_documented_paths_still_work_and_say_where_to_import_from(old_path, names):
    sys.modules.pop(old_path, None)

    with pytest.warns(DeprecationWarning, match=r"import .+ from django_defacto\.services"):
        old = importlib.import_module(old_path)

    assert [name for name in names if getattr(old, name) is not getattr(services.loans, name)] == []
    assert getattr(old, names[0]) is getattr(services, names[0])
