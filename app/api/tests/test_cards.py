"""Card number detection (plain functions, no database)."""

import unicodedata

import pytest

from payments_api.cards import contains_card_number, luhn_valid, normalise_digits


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117"]
)
def test_luhn_accepts_well_known_test_card_numbers(number: str) -> None:
    assert luhn_valid(number)


def test_luhn_rejects_a_card_number_with_one_digit_changed() -> None:
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "order 4111 1111 1111 1111 paid",
        "order-4111111111111111",
    ],
)
def test_card_number_is_found_with_spaces_hyphens_or_around_text(text: str) -> None:
    assert contains_card_number(text)


def test_card_number_followed_by_another_digit_group_is_found() -> None:
    assert contains_card_number("4111-1111-1111-1111-01")


def test_sixteen_digits_that_fail_luhn_are_not_a_card_number() -> None:
    assert not contains_card_number("4111111111111112")


def test_luhn_valid_run_of_12_digits_is_too_short_for_a_card_number() -> None:
    assert luhn_valid("123456789015")
    assert not contains_card_number("ref 123456789015")


def test_luhn_valid_run_of_13_digits_is_a_card_number() -> None:
    assert contains_card_number("ref 1234567890128")


def test_luhn_valid_run_of_19_digits_is_a_card_number() -> None:
    assert contains_card_number("4123456789012345677")


def test_run_of_20_digits_without_separators_is_not_a_card_number() -> None:
    assert luhn_valid("41234567890123456787")
    assert not contains_card_number("41234567890123456787")


def test_text_without_digits_is_not_a_card_number() -> None:
    assert not contains_card_number("order-abc")


@pytest.mark.parametrize(
    "text",
    [
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111_1111_1111_1111",
        "4111  1111  1111  1111",
        "4111 - 1111 - 1111 - 1111",
        "4111a1111b1111c1111",
        "\uff14\uff11\uff11\uff11 " + "\uff11" * 4 + " " + "\uff11" * 4 + " " + "\uff11" * 4,
        "\u0664" + "\u0661" * 15,  # Arabic-Indic
        "\u096a\u0967\u0967\u0967-1111-1111-1111",  # Devanagari digits, mixed with ASCII
    ],
)
def test_card_number_is_found_behind_any_separator_or_digit_script(text: str) -> None:
    assert contains_card_number(text)


def test_long_separators_or_letters_between_short_groups_do_not_join() -> None:
    assert not contains_card_number("4111 or 1111 or 1111 or 1111")
    assert not contains_card_number("41a11b11c11d11e11f11g11")


@pytest.mark.parametrize(
    "text", ["41111111-1111-4111-8111-111111111111", "41111111111141118111111111111111"]
)
def test_uuids_are_not_scanned(text: str) -> None:
    assert not contains_card_number(text)
    assert not contains_card_number(f"test-{text}")


def test_normalise_digits_makes_any_decimal_digit_ascii() -> None:
    assert normalise_digits("\uff14\u0661\u096a-x") == "414-x"


def test_the_ascii_shortcut_gives_what_the_full_normalisation_gives() -> None:
    ascii_text = "".join(chr(code) for code in range(128))
    full = "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in unicodedata.normalize("NFKC", ascii_text)
    )
    assert normalise_digits(ascii_text) == full == ascii_text
