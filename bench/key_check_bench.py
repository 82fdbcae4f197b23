"""Time of the API key check for a known and an unknown prefix, in process.

    .venv/bin/python bench/key_check_bench.py [--samples 200000] [--keys 1000]

`ApiKeyVerifier.client_for` against a loaded snapshot of `--keys` unrevoked keys (a stub in
place of the database pool: the snapshot is loaded once, before timing), called in turn with
a valid key, a known prefix with a wrong secret, and an unknown prefix, each call timed on its
own (perf_counter_ns); the figures are per kind, in microseconds. The attacker's question is
whether the kinds differ: they should not, as each is a dict look-up and one
hmac.compare_digest. Also: the memory of a snapshot of MAX_KEYS keys, and the time to build it
from the rows (the query's own time is the database's).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app" / "api"))

from payments_api.auth import MAX_KEYS, ApiKeyVerifier, key_hash, new_key


class StubPool:
    """Answers the snapshot's query with `rows`; no request deadline (none is running)."""

    def __init__(self, rows: list[tuple[str, str, bytes]]) -> None:
        self.rows = rows

    async def run(self, work: Callable[[Any], Awaitable[Any]]) -> list[tuple[str, str, bytes]]:
        return self.rows

    def deadline(self, timing: object) -> float:
        return time.monotonic() + 20


def rows_of(count: int) -> tuple[list[tuple[str, str, bytes]], str]:
    """`count` keys' rows, and one of the keys."""
    rows, key = [], ""
    for number in range(count):
        prefix, key = new_key()
        rows.append((prefix, f"client-{number % 50}", key_hash(key)))
    return rows, key


async def time_kinds(samples: int, keys: int) -> dict[str, list[float]]:
    rows, valid = rows_of(keys)
    pool: Any = StubPool(rows)
    verifier = ApiKeyVerifier(cache_seconds=1e9)
    assert await verifier.client_for(pool, valid) is not None  # loads the snapshot
    kinds = {
        "known prefix, right secret": valid,
        "known prefix, wrong secret": valid[:-1] + ("A" if valid[-1] != "A" else "B"),
        "unknown prefix": "pay_000000000000_" + valid[17:],
    }
    times: dict[str, list[float]] = {name: [] for name in kinds}
    clock = time.perf_counter_ns
    for _ in range(samples):
        for name, presented in kinds.items():  # interleaved: drift hits every kind alike
            began = clock()
            await verifier.client_for(pool, presented)
            times[name].append((clock() - began) / 1000)
    return times


def snapshot_cost(count: int) -> tuple[float, float]:
    """MiB held by a snapshot of `count` keys (its dict, tuples, prefixes, client ids and
    hashes), and ms to build it from the query's rows (untraced)."""
    rows, _ = rows_of(count)
    began = time.perf_counter()
    keys = {prefix: (client_id, digest) for prefix, client_id, digest in rows}
    built_ms = (time.perf_counter() - began) * 1000
    del rows, keys
    tracemalloc.start()
    rows, _ = rows_of(count)
    keys = {prefix: (client_id, digest) for prefix, client_id, digest in rows}
    del rows  # the rows' list goes; their strings and bytes stay, in the snapshot
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(keys) == count
    return held / 2**20, built_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000, help="calls per kind")
    parser.add_argument("--keys", type=int, default=1000, help="keys in the snapshot")
    args = parser.parse_args()
    times = asyncio.run(time_kinds(args.samples, args.keys))
    print(f"{args.samples} calls per kind, snapshot of {args.keys} keys; microseconds per call")
    print(f"{'kind':<28} {'median':>7} {'p90':>7} {'p99':>7} {'mean':>7}")
    for name, values in times.items():
        ordered = sorted(values)
        p90, p99 = ordered[len(ordered) * 9 // 10], ordered[len(ordered) * 99 // 100]
        print(
            f"{name:<28} {statistics.median(ordered):7.2f} {p90:7.2f} {p99:7.2f} "
            f"{statistics.fmean(ordered):7.2f}"
        )
    mib, built_ms = snapshot_cost(MAX_KEYS)
    print(f"snapshot of {MAX_KEYS} keys (MAX_KEYS): {mib:.1f} MiB, built in {built_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
