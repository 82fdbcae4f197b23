"""The static ISO 4217 set."""

import re

import pytest

from payments_api.currencies import ACTIVE_CURRENCIES


@pytest.mark.parametrize("code", ["USD", "EUR", "GBP", "JPY", "CHF", "XOF", "XCG", "ZWG"])
def test_currency_in_circulation_is_active(code: str) -> None:
    assert code in ACTIVE_CURRENCIES


@pytest.mark.parametrize("code", ["XXX", "XTS", "XAU", "XDR"])
def test_code_that_is_not_money_is_excluded(code: str) -> None:
    assert code not in ACTIVE_CURRENCIES


@pytest.mark.parametrize("code", ["HRK", "ZWL", "CUC", "ANG", "BGN"])
def test_withdrawn_currency_is_excluded(code: str) -> None:
    assert code not in ACTIVE_CURRENCIES


def test_every_code_is_three_uppercase_letters() -> None:
    bad = sorted(code for code in ACTIVE_CURRENCIES if not re.fullmatch(r"[A-Z]{3}", code))
    assert not bad, f"malformed currency codes: {bad}"
