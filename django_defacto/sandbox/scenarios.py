"""Sandbox scenarios and the payee IBANs that select them.

The scenario is read from the IBAN itself, never from state: Defacto's published test IBANs
share the bank code 11111 and a branch code `0N559` whose digit N names the scenario, and
the IBAN generator makes further IBANs with the same marker.
"""

from __future__ import annotations

import random

SUCCESS = "SUCCESS"
SUCCESS_ONE_DAY_LATER = "SUCCESS_ONE_DAY_LATER"
REJECT = "REJECT"
FAIL = "FAIL"
CANCEL = "CANCEL"

SANDBOX_BIC = "FK2FACTO"
SANDBOX_BANK_CODE = "11111"

_SCENARIO_DIGITS = {
    SUCCESS: "1",
    SUCCESS_ONE_DAY_LATER: "2",
    REJECT: "3",
    FAIL: "4",
    CANCEL: "5",
}
_SCENARIOS_BY_DIGIT = {digit: name for name, digit in _SCENARIO_DIGITS.items()}
SCENARIOS = tuple(_SCENARIO_DIGITS)


def _rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97):02d}"


def _iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def french_iban(bank: str, branch: str, account: str) -> str:
    """Return a valid French IBAN (RIB key and check digits computed) for these codes."""
    bban = bank + branch + account + _rib_key(bank, branch, account)
    return "FR" + _iban_check_digits("FR", bban) + bban


def scenario_iban(scenario: str, account: str) -> str:
    """Return the sandbox IBAN for `scenario` with an 11-digit account number."""
    return french_iban(SANDBOX_BANK_CODE, f"0{_SCENARIO_DIGITS[scenario]}559", account)


def generate_iban(scenario: str, rng: random.Random) -> str:
    """Return a fresh valid-looking IBAN that selects `scenario`."""
    return scenario_iban(scenario, f"{rng.randrange(10**11):011d}")


# Published by Defacto (sandbox-scenarios.yml), plus a stable one for REJECT and CANCEL.
SCENARIO_IBANS = {
    SUCCESS: "FR8811111015593603018280926",
    SUCCESS_ONE_DAY_LATER: "FR3711111025593244332331294",
    FAIL: "FR1311111045594746737398900",
    REJECT: scenario_iban(REJECT, "36030182809"),
    CANCEL: scenario_iban(CANCEL, "36030182809"),
}


def scenario_of_iban(iban: str | None) -> str:
    """Return the scenario an IBAN selects; SUCCESS for any IBAN without the marker."""
    compact = (iban or "").replace(" ", "").upper()
    marked = compact[4:9] == SANDBOX_BANK_CODE and compact[9] == "0" and compact[11:14] == "559"
    if compact.startswith("FR") and marked:
        return _SCENARIOS_BY_DIGIT.get(compact[10], SUCCESS)
    return SUCCESS


# Where Defacto receives repayments in the sandbox (a Defacto account, not a scenario IBAN).
DEFACTO_REPAYMENT_IBAN = french_iban("30004", "00819", "00012345678")
