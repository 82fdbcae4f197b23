"""Card number (PAN) detection for client strings, so no card number is stored or logged.

The text is normalised first: NFKC (full-width digits become ASCII) and then every Unicode
decimal digit (Arabic-Indic, Devanagari, ...) becomes its ASCII digit.

Digit groups are the maximal runs of digits. Two neighbouring groups are joined when what
separates them is 1 to 3 characters that are neither letters nor digits (spaces, double
spaces, `.`, `/`, `_`, `-`, ` - `, ...), or a single letter between two groups of 4 or more
digits (`4111a1111b1111c1111`). Any sequence of whole, consecutive joined groups that has 13
to 19 digits and passes the Luhn check counts as a card number. Whole groups only, so a
20-digit number is never rejected because some 13-digit slice of it happens to pass, while a
card number with a suffix group ("4111 1111 1111 1111-01") is still found.

UUIDs (`8-4-4-4-12` hex with hyphens, or 32 hex digits) are left out of the scan: about one
random UUID in 500 holds digit runs that would pass, and they are what clients use as
idempotency keys and request ids, and what payment paths hold. A card number typed by mistake
does not take that shape.
"""

import re
import unicodedata

_UUID = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32})(?![0-9A-Za-z])"
)
_DIGIT_GROUP = re.compile(r"[0-9]+")
MIN_PAN_DIGITS = 13
MAX_PAN_DIGITS = 19
MAX_SEPARATOR_LENGTH = 3
MIN_GROUP_AROUND_LETTER = 4


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


def normalise_digits(text: str) -> str:
    """NFKC, then every Unicode decimal digit as its ASCII digit."""
    if text.isascii():  # both steps leave ASCII as it is; most client strings are ASCII
        return text
    return "".join(
        str(unicodedata.decimal(char)) if char.isdecimal() else char
        for char in unicodedata.normalize("NFKC", text)
    )


def _joins(separator: str, before: str, after: str) -> bool:
    if len(separator) == 1 and separator.isalpha():
        return min(len(before), len(after)) >= MIN_GROUP_AROUND_LETTER
    return 1 <= len(separator) <= MAX_SEPARATOR_LENGTH and not any(
        char.isalnum() for char in separator
    )


def _chains(text: str) -> list[list[str]]:
    """The digit groups of `text`, split into chains of joined neighbours."""
    chains: list[list[str]] = []
    previous_end = -1
    for match in _DIGIT_GROUP.finditer(text):
        group = match.group()
        if chains and _joins(text[previous_end : match.start()], chains[-1][-1], group):
            chains[-1].append(group)
        else:
            chains.append([group])
        previous_end = match.end()
    return chains


def contains_card_number(text: str) -> bool:
    """True if `text` holds a card number: 13-19 digits in whole groups, Luhn-valid, written
    with any digits and any short separators (see the module docstring)."""
    text = _UUID.sub("#", normalise_digits(text))
    for groups in _chains(text):
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > MAX_PAN_DIGITS:
                    break
                if len(digits) >= MIN_PAN_DIGITS and luhn_valid(digits):
                    return True
    return False
