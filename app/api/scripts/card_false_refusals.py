"""How often the card-number rule refuses an ordinary reference (the false-refusal rate).

    cd app/api && ../../.venv/bin/python -m scripts.card_false_refusals  # --per-kind, --seed

Generates a corpus of the references clients really send as `merchant_reference`,
`Idempotency-Key` or `X-Request-Id` (and the ids our own paths hold), each kind from a seeded
`random.Random`, runs `cards.contains_card_number` over every one, and prints the share refused
per kind and overall (every kind weighs the same). docs/security.md quotes the result; none of
these strings holds a card number, so every refusal is a false one.

`tests/test_cards.py` draws its ordinary references from `KINDS` too.
"""

from __future__ import annotations

import argparse
import random
import string
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from payments_api.cards import contains_card_number

_START = datetime(2015, 1, 1, tzinfo=UTC).timestamp()
_END = datetime(2031, 1, 1, tzinfo=UTC).timestamp()
_TWITTER_EPOCH_MS = 1288834974657
_DISCORD_EPOCH_MS = 1420070400000
_BASE62 = string.digits + string.ascii_letters
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _moment(rng: random.Random) -> float:
    return rng.uniform(_START, _END)


def _ms(rng: random.Random) -> int:
    return int(_moment(rng) * 1000)


def millisecond_timestamp(rng: random.Random) -> str:
    return str(_ms(rng))


def microsecond_timestamp(rng: random.Random) -> str:
    return str(int(_moment(rng) * 1_000_000))


def nanosecond_timestamp(rng: random.Random) -> str:
    return str(int(_moment(rng) * 1_000_000_000))


def twitter_snowflake(rng: random.Random) -> str:
    return str(((_ms(rng) - _TWITTER_EPOCH_MS) << 22) | rng.getrandbits(22))


def discord_snowflake(rng: random.Random) -> str:
    return str(((_ms(rng) - _DISCORD_EPOCH_MS) << 22) | rng.getrandbits(22))


def invoice_number(rng: random.Random) -> str:
    year = rng.randint(2015, 2030)
    return f"{rng.choice(['INV', 'inv', 'FAC', 'RE'])}-{year}-{rng.randint(1, 10**9 - 1):09d}"


def dated_order_id(rng: random.Random) -> str:
    moment = datetime.fromtimestamp(_moment(rng), UTC)
    return f"ORD-{moment:%Y%m%d}-{rng.randint(1, 999_999):06d}"


def numeric_order_id(rng: random.Random) -> str:
    prefix = rng.choice(["order-", "order_", "#", "PO "])
    return f"{prefix}{rng.randint(1, 10 ** rng.randint(4, 12))}"


def marketplace_order_id(rng: random.Random) -> str:
    """Three groups of digits, 3-7-7, as some marketplaces number orders."""
    first, second, third = rng.randint(100, 999), rng.randrange(10**7), rng.randrange(10**7)
    return f"{first}-{second:07d}-{third:07d}"


def iso_timestamp(rng: random.Random) -> str:
    moment = datetime.fromtimestamp(_moment(rng), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact_timestamp(rng: random.Random) -> str:
    moment = datetime.fromtimestamp(_moment(rng), UTC)
    return f"{moment:%Y%m%d%H%M%S}{moment.microsecond // 1000:03d}"


def uuid4_hyphenated(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uuid4_hex(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def uuid7(rng: random.Random) -> str:
    value = (_ms(rng) << 80) | rng.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return str(uuid.UUID(int=value))


def ulid(rng: random.Random) -> str:
    value = (_ms(rng) << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def prefixed_random_id(rng: random.Random) -> str:
    """A processor-style object id: a prefix and 24 base62 characters."""
    prefix = rng.choice(["pi_", "ch_", "cus_", "ord_", "txn_"])
    return prefix + "".join(rng.choice(_BASE62) for _ in range(24))


def phone_number(rng: random.Random) -> str:
    return f"+{rng.choice(['1', '44', '49', '33', '91', '86'])}{rng.randint(10**9, 10**11 - 1)}"


def iban(rng: random.Random) -> str:
    """A German IBAN as printed: DEkk, then 18 digits in groups of four."""
    digits = f"{rng.randint(10, 99)}" + "".join(rng.choice(string.digits) for _ in range(18))
    return "DE" + " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def free_text_reference(rng: random.Random) -> str:
    """A reference a person typed: words and a few short numbers."""
    words = ["order", "invoice", "table", "room", "booking", "customer", "batch", "line"]
    return " ".join(f"{rng.choice(words)} {rng.randint(1, 99_999)}" for _ in range(3))


KINDS: dict[str, Callable[[random.Random], str]] = {
    "millisecond timestamp": millisecond_timestamp,
    "microsecond timestamp": microsecond_timestamp,
    "nanosecond timestamp": nanosecond_timestamp,
    "Twitter snowflake": twitter_snowflake,
    "Discord snowflake": discord_snowflake,
    "invoice INV-2026-000000128": invoice_number,
    "order ORD-20261207-004512": dated_order_id,
    "order-123456": numeric_order_id,
    "order 123-1234567-1234567": marketplace_order_id,
    "ISO 8601 time": iso_timestamp,
    "compact time 20261207063032123": compact_timestamp,
    "UUIDv4": uuid4_hyphenated,
    "UUIDv4, 32 hex": uuid4_hex,
    "UUIDv7": uuid7,
    "ULID": ulid,
    "pi_ + 24 base62": prefixed_random_id,
    "phone number (E.164)": phone_number,
    "IBAN, grouped": iban,
    "typed words and numbers": free_text_reference,
}
"""Every kind of ordinary reference in the corpus, by name."""


def refusal_rates(per_kind: int, seed: int) -> dict[str, float]:
    """The share of each kind's `per_kind` generated references that the rule refuses."""
    rng = random.Random(seed)
    rates = {}
    for name, generate in KINDS.items():
        refused = sum(contains_card_number(generate(rng)) for _ in range(per_kind))
        rates[name] = refused / per_kind
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rates = refusal_rates(args.per_kind, args.seed)
    for name, rate in rates.items():
        print(f"{name:34} {rate:8.4%}")
    overall = sum(rates.values()) / len(rates)
    print(f"{'overall (kinds weighed equally)':34} {overall:8.4%}")
    print(f"{len(rates) * args.per_kind} references, seed {args.seed}")


if __name__ == "__main__":
    main()
