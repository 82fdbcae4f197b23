"""Card number (PAN) detection for free-text fields, so no card number is ever stored.

A candidate is a run of digit groups separated by single spaces or hyphens
("4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"). Any sequence of whole,
consecutive groups within a run that has 13 to 19 digits and passes the Luhn check counts as
a card number. Whole groups only, so a 16-digit number that fails the Luhn check is never
rejected because some 13-digit slice of it happens to pass, while a card number with a
suffix group ("4111 1111 1111 1111-01") is still found.
"""

import re

_DIGIT_RUN = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_GROUP_SEPARATOR = re.compile(r"[ -]")
MIN_PAN_DIGITS = 13
MAX_PAN_DIGITS = 19


def luhn_valid(digits: str) -> bool:
    """True if the string of ASCII digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """True if `text` holds a Luhn-valid run of 13-19 digits (spaces or hyphens allowed)."""
    for run in _DIGIT_RUN.finditer(text):
        groups = _GROUP_SEPARATOR.split(run.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > MAX_PAN_DIGITS:
                    break
                if len(digits) >= MIN_PAN_DIGITS and luhn_valid(digits):
                    return True
    return False
