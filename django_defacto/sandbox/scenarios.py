"""Sandbox scenarios and the payee IBANs that select them.

The scenario is read from the IBAN itself, never from state: Defacto's published test IBANs
share the bank code 11111 and a branch code `0N559` whose digit N names the scenario, and
the IBAN generator makes further French IBANs with the same marker. Its IBANs of the other
markets have a sandbox bank code of their country (`SANDBOX_BANKS`) and an account number
whose first digit names the scenario. Check digits are schwifty's.
"""

from __future__ import annotations

import random

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

SUCCESS = "SUCCESS"
SUCCESS_ONE_DAY_LATER = "SUCCESS_ONE_DAY_LATER"
REJECT = "REJECT"
FAIL = "FAIL"
CANCEL = "CANCEL"
# Sandbox only (Defacto's sandbox has no such scenario): the loan is not repaid on its
# repayment date; a day later Defacto notifies Loan.OVERDUE, and it stays TO_REPAY until
# repaid early (`POST /repay/now`).
LATE = "LATE"
# Sandbox only: Defacto says its decision comes "seconds to days later"; here it takes
# two days of sandbox time (then accepts), so a request stays PENDING_VALIDATION while
# its status is watched, polled and shown.
REVIEW = "REVIEW"

SANDBOX_BIC = "FK2FACTO"
SANDBOX_BANK_CODE = "11111"

_SCENARIO_DIGITS = {
    SUCCESS: "1",
    SUCCESS_ONE_DAY_LATER: "2",
    REJECT: "3",
    FAIL: "4",
    CANCEL: "5",
    LATE: "6",
    REVIEW: "7",
}
_SCENARIOS_BY_DIGIT = {digit: name for name, digit in _SCENARIO_DIGITS.items()}
# Defacto's own scenarios (its iban-generator takes these); LATE and REVIEW are this
# sandbox's.
SCENARIOS = (SUCCESS, SUCCESS_ONE_DAY_LATER, REJECT, FAIL, CANCEL)


def french_iban(bank: str, branch: str, account: str) -> str:
    """Return a valid French IBAN (RIB key and check digits computed) for these codes."""
    return str(IBAN.generate("FR", bank_code=bank, branch_code=branch, account_code=account))


# The other markets' sandbox banks: (bank code, branch code or "", digits of the account
# number after the scenario's digit).
SANDBOX_BANKS = {
    "ES": ("5590", "0001", 9),
    "DE": ("55900000", "", 9),
    "NL": ("DFCT", "", 9),
    "BE": ("559", "", 6),
}
COUNTRIES = ("FR", *SANDBOX_BANKS)


def scenario_iban(scenario: str, account: str) -> str:
    """Return the sandbox IBAN for `scenario` with an 11-digit account number."""
    return french_iban(SANDBOX_BANK_CODE, f"0{_SCENARIO_DIGITS[scenario]}559", account)


def generate_iban(scenario: str, rng: random.Random, country: str = "FR") -> str:
    """Return a fresh valid IBAN of `country` (FR, ES, DE, NL or BE) that selects
    `scenario`."""
    if country == "FR":
        return scenario_iban(scenario, f"{rng.randrange(10**11):011d}")
    bank, branch, digits = SANDBOX_BANKS[country]
    account = _SCENARIO_DIGITS[scenario] + f"{rng.randrange(10**digits):0{digits}d}"
    codes = {"bank_code": bank, "account_code": account}
    if branch:
        codes["branch_code"] = branch
    return str(IBAN.generate(country, **codes))


# Published by Defacto (sandbox-scenarios.yml), plus a stable one for REJECT and CANCEL.
SCENARIO_IBANS = {
    SUCCESS: "FR8811111015593603018280926",
    SUCCESS_ONE_DAY_LATER: "FR3711111025593244332331294",
    FAIL: "FR1311111045594746737398900",
    REJECT: scenario_iban(REJECT, "36030182809"),
    CANCEL: scenario_iban(CANCEL, "36030182809"),
    LATE: scenario_iban(LATE, "36030182809"),
    REVIEW: scenario_iban(REVIEW, "36030182809"),
}


def scenario_of_iban(iban: str | None) -> str:
    """Return the scenario an IBAN selects; SUCCESS for any IBAN without the marker."""
    compact = (iban or "").replace(" ", "").upper()
    marked = compact[4:9] == SANDBOX_BANK_CODE and compact[9] == "0" and compact[11:14] == "559"
    if compact.startswith("FR") and marked:
        return _SCENARIOS_BY_DIGIT.get(compact[10], SUCCESS)
    bank = SANDBOX_BANKS.get(compact[:2])
    if bank is None:
        return SUCCESS
    try:
        parsed = IBAN(compact)
    except SchwiftyException:
        return SUCCESS
    if parsed.bank_code == bank[0] and (parsed.branch_code or "") == bank[1]:
        return _SCENARIOS_BY_DIGIT.get(parsed.account_code[:1], SUCCESS)
    return SUCCESS


# Where Defacto receives repayments in the sandbox (a Defacto account, not a scenario IBAN).
DEFACTO_REPAYMENT_IBAN = french_iban("30004", "00819", "00012345678")
