"""Card number (PAN) detection: one rule for every client string that is stored or logged.

`contains_card_number` is the only test, applied the same way to `merchant_reference`, the
`Idempotency-Key`, the `X-Request-Id` and the request path; no shape of string (UUIDs
included) is exempt. The rule, and why each part is as it is, is in docs/security.md ("Which
strings hold a card number"):

1. Digits. The text is read after NFKC (full-width digits, superscripts, circled digits become
   ASCII), and every character with a Unicode digit value (Arabic-Indic, Devanagari, ...) as
   that digit.
2. Groups. The maximal runs of digits. Two neighbouring groups are joined when what lies
   between them holds no letter (any number of spaces, `-`, `.`, `/`, `_`, `:`, zero-width or
   other characters), or at most `MAX_LETTERS_BETWEEN_GROUPS` letters between two groups of at
   least `MIN_GROUP_AROUND_LETTERS` digits (`4111x1111x1111x1111`). "Letter" is any
   alphanumeric character that is not a digit. Otherwise the chain of joined groups ends.
3. Card numbers. Any run of whole, consecutive groups of one chain whose digits have a card
   brand's issuer prefix (IIN) and length (`BRANDS`) and pass the Luhn check. Whole groups
   only: a digit run of 20 or more, or a slice of one, is not a card number.

The scan is linear in the text: one tokenising regex without backtracking, then per group a
few dictionary look-ups for its issuer prefix and, with prefix sums, an O(1) Luhn check per
length the prefix allows.
"""

import re
import unicodedata
from dataclasses import dataclass
from itertools import accumulate

MAX_LETTERS_BETWEEN_GROUPS = 3
"""Letters that may lie between two digit groups of one card number (`4111abc1111x1111x1111`),"""
MIN_GROUP_AROUND_LETTERS = 4
"""but only between groups of at least this many digits."""


@dataclass(frozen=True)
class Brand:
    """A card brand: its issuer prefixes (inclusive ranges of equal-length decimal prefixes)
    and the lengths of its card numbers."""

    name: str
    prefixes: tuple[tuple[str, str], ...]
    lengths: frozenset[int]


def _lengths(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1))


BRANDS = (
    Brand("Visa", (("4", "4"),), frozenset({13, 16, 19})),
    Brand("Mastercard", (("51", "55"), ("2221", "2720")), frozenset({16})),
    Brand("American Express", (("34", "34"), ("37", "37")), frozenset({15})),
    Brand(
        "Discover",
        (("6011", "6011"), ("644", "649"), ("65", "65"), ("622126", "622925")),
        _lengths(16, 19),
    ),
    Brand("JCB", (("3528", "3589"),), _lengths(16, 19)),
    Brand("Diners Club", (("300", "305"), ("36", "36"), ("38", "39")), _lengths(14, 19)),
    Brand("UnionPay", (("62", "62"),), _lengths(16, 19)),
    # Maestro's whole range, 50 and 56-69, at the lengths cards are issued at today; its
    # named IINs at every length it has ever had (12-19).
    Brand("Maestro", (("50", "50"), ("56", "69")), _lengths(16, 19)),
    Brand(
        "Maestro (named IINs)",
        (
            ("5018", "5018"),
            ("5020", "5020"),
            ("5038", "5038"),
            ("5893", "5893"),
            ("6304", "6304"),
            ("6759", "6759"),
            ("6761", "6763"),
        ),
        _lengths(12, 19),
    ),
)
"""Issuer prefixes and lengths of the card brands (sources in docs/security.md)."""
MIN_PAN_DIGITS = min(min(brand.lengths) for brand in BRANDS)
MAX_PAN_DIGITS = max(max(brand.lengths) for brand in BRANDS)


def luhn_valid(digits: str) -> bool:
    """True if the string of ASCII digits passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _prefix_table() -> dict[str, list[tuple[str, frozenset[int]]]]:
    """Every issuer prefix of `BRANDS`, written out (2221-2720 as 500 prefixes): a card's brand
    is then a handful of dictionary look-ups, one per prefix length."""
    table: dict[str, list[tuple[str, frozenset[int]]]] = {}
    for brand in BRANDS:
        for low, high in brand.prefixes:
            for value in range(int(low), int(high) + 1):
                table.setdefault(str(value), []).append((brand.name, brand.lengths))
    return table


_PREFIXES = _prefix_table()
_PREFIX_LENGTHS = sorted({len(prefix) for prefix in _PREFIXES}, reverse=True)  # longest wins


def brand_of(digits: str) -> str | None:
    """The brand whose issuer prefixes and lengths fit these ASCII digits, or None."""
    for size in _PREFIX_LENGTHS:
        for name, lengths in _PREFIXES.get(digits[:size], ()):
            if len(digits) in lengths:
                return name
    return None


def is_card_number(digits: str) -> bool:
    """True if the ASCII digits are a card number: a brand's prefix and length, and Luhn."""
    return brand_of(digits) is not None and luhn_valid(digits)


def normalise_digits(text: str) -> str:
    """NFKC, then every character with a Unicode digit value as its ASCII digit."""
    if text.isascii():  # both steps leave ASCII as it is; most client strings are ASCII
        return text
    characters = []
    for char in unicodedata.normalize("NFKC", text):
        digit = unicodedata.digit(char, None)
        characters.append(str(digit) if digit is not None else char)
    return "".join(characters)


_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+")
"""Digit runs and letter runs (alphanumerics that are not digits); the rest separates them."""


def _chains(text: str) -> list[list[str]]:
    """The digit groups of `text` (normalised), in chains of joined neighbours."""
    chains: list[list[str]] = []
    letters = 0  # letters since the last group
    for run in _TOKEN.findall(text):
        if not "0" <= run[0] <= "9":
            letters += len(run)
            continue
        if chains and (
            letters == 0
            or (
                letters <= MAX_LETTERS_BETWEEN_GROUPS
                and min(len(chains[-1][-1]), len(run)) >= MIN_GROUP_AROUND_LETTERS
            )
        ):
            chains[-1].append(run)
        else:
            chains.append([run])
        letters = 0
    return chains


def _lengths_by_prefix() -> dict[str, frozenset[int]]:
    lengths: dict[str, set[int]] = {}
    for prefix, brands in _PREFIXES.items():
        for _, brand_lengths in brands:
            lengths.setdefault(prefix, set()).update(brand_lengths)
    return {prefix: frozenset(allowed) for prefix, allowed in lengths.items()}


_LENGTHS_BY_PREFIX = _lengths_by_prefix()
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit's Luhn value when it is doubled


def _chain_holds_card_number(groups: list[str]) -> bool:
    digits = "".join(groups)
    if len(digits) < MIN_PAN_DIGITS:
        return False
    boundaries = set(accumulate(map(len, groups), initial=0))
    # Luhn by prefix sums: in digits[start:end] the digit at p is doubled when p and end have
    # the same parity, so sums[end % 2][end] - sums[end % 2][start] is the window's Luhn sum.
    plain = [ord(char) - 48 for char in digits]
    doubled = [_DOUBLED[value] for value in plain]
    even_doubled, odd_doubled = plain[:], plain[:]
    even_doubled[0::2] = doubled[0::2]
    odd_doubled[1::2] = doubled[1::2]
    sums = (list(accumulate(even_doubled, initial=0)), list(accumulate(odd_doubled, initial=0)))
    for start in boundaries:
        for size in _PREFIX_LENGTHS:
            for length in _LENGTHS_BY_PREFIX.get(digits[start : start + size], ()):
                end = start + length
                if end in boundaries and (sums[end % 2][end] - sums[end % 2][start]) % 10 == 0:
                    return True
    return False


def contains_card_number(text: str) -> bool:
    """True if `text` holds a card number, by the module's rule: any digits, any separators,
    a few letters between long groups; a brand's issuer prefix and length; Luhn."""
    return any(_chain_holds_card_number(groups) for groups in _chains(normalise_digits(text)))
