"""Throughput and latency of one API worker against local PostgreSQL, beside pgbench.

    .venv/bin/python bench/api_bench.py [--seconds 20] [--clients 8]

In one run, on one fresh PostgreSQL server over TLS (verify-full, as in production):
1. the real API (``python -m payments_api.serve``: one uvicorn worker, HTTPS, log level INFO
   as in production) under ``wrk`` with ``--clients`` keep-alive HTTPS connections, one
   request at a time each, sending ``POST /api/payments`` with an API key and a new
   Idempotency-Key each (bench/wrk/post.lua) for ``--seconds``; then ``GET
   /api/payments/{id}`` of the payments just created (bench/wrk/get.lua);
2. ``pgbench`` with the same number of clients, inserting one row per transaction into the
   same ``payments`` table with the same columns the API writes, for ``--seconds``.

The POSTs and pgbench's inserts take turns, ``--slices`` turns each (4 s apiece by default),
and each is summed over its turns: this machine's speed drifts by 10-20% within minutes (the
same in-process loop, bench/api_app_bench.py, gave 317 to 395 us per request within one run),
and an autovacuum of the growing table lands in one turn or another, so two phases run one
after the other could see different machines. Taking turns, both see the same one. p50 is the
median of the turns' p50s, p99 the worst turn's p99.

wrk and pgbench are both C programs, so the load generators take about the same share of the
2 cores from the servers (Python clients took more than the API itself and inflated its CPU
per request). It prints requests per second with p50 and p99 latency (wrk's), pgbench's
transactions per second, and both per core: each rate divided by the CPU the server side used
meanwhile (the API process plus every PostgreSQL process, read with psutil), so the load
generators do not count against either. Any answer but 201 (POST) or 200 (GET) fails the run.
docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from payments_local_servers.api import ApiServer, create_api_key, create_app_database
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

PGBENCH_INSERT = """\
INSERT INTO payments
    (client_id, idempotency_key, request_hash, amount_minor, currency, merchant_reference)
VALUES ('bench', gen_random_uuid()::text, sha256(random()::text::bytea), 1234, 'USD', 'bench');
"""


WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"


@dataclass
class PhaseResult:
    name: str
    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_seconds: float
    api_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def rate_per_core(self) -> float:
        """Operations per CPU-second of the server side (API + PostgreSQL)."""
        return self.count / self.server_cpu_seconds

    @property
    def api_us_per_op(self) -> float:
        """CPU of the API process per operation, in microseconds."""
        return self.api_cpu_seconds / self.count * 1e6

    @property
    def postgres_us_per_op(self) -> float:
        """CPU of every PostgreSQL process per operation, in microseconds."""
        return (self.server_cpu_seconds - self.api_cpu_seconds) / self.count * 1e6


def _server_processes(api_pid: int, data_dir: Path) -> list[psutil.Process]:
    postmaster_pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(postmaster_pid)
    return [psutil.Process(api_pid), postmaster]


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time of these processes and all their children, living ones included."""
    total = 0.0
    for process in processes:
        for each in [process, *process.children(recursive=True)]:
            try:
                times = each.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        # Exited children (PostgreSQL backends of closed connections) are counted here.
        times = process.cpu_times()
        total += times.children_user + times.children_system
    return total


def _measure(
    name: str, processes: list[psutil.Process], run: Callable[[], tuple[Any, ...]]
) -> tuple[Any, ...]:
    api = processes[:1]  # the API process (with no children); then the postmaster
    cpu_before, api_before = _cpu_seconds(processes), _cpu_seconds(api)
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    cpu_used, api_used = _cpu_seconds(processes) - cpu_before, _cpu_seconds(api) - api_before
    return result, elapsed, cpu_used, api_used


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_latency_ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no {percentile}% latency:\n{output}")
    return float(match[1]) * _UNITS_MS[match[2]]


def run_api_phase(
    api: ApiServer,
    processes: list[psutil.Process],
    name: str,
    script: str,
    script_args: list[str],
    *,
    clients: int,
    seconds: float,
) -> PhaseResult:
    command = [
        "wrk",
        f"--connections={clients}",
        f"--threads={min(clients, 2)}",
        f"--duration={int(seconds)}s",
        "--latency",
        f"--script={WRK_SCRIPTS / script}",
        api.base_url,
        "--",
        *script_args,
    ]

    def run() -> tuple[str]:
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        return (completed.stdout,)

    (output,), elapsed, cpu, api_cpu = _measure(name, processes, run)
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if refused or errors:
        raise RuntimeError(f"{name}: not every request succeeded:\n{output}")
    count = int(_pgbench_figure(r"(\d+) requests in", output))
    return PhaseResult(
        name,
        count,
        elapsed,
        _wrk_latency_ms(output, "50"),
        _wrk_latency_ms(output, "99"),
        cpu,
        api_cpu,
    )


def _payment_ids(database: DatabaseCredentials, path: Path) -> None:
    """Write up to 10,000 ids of the bench client's payments to `path`, one per line."""
    with psycopg.connect(database.conninfo()) as conn:
        rows = conn.execute(
            "SELECT id FROM payments WHERE client_id = 'bench' LIMIT 10000"
        ).fetchall()
    path.write_text("".join(f"{row[0]}\n" for row in rows))


def run_pgbench(
    server: PostgresServer,
    database: DatabaseCredentials,
    processes: list[psutil.Process],
    *,
    clients: int,
    seconds: float,
    work_dir: Path,
) -> PhaseResult:
    script = work_dir / "insert.sql"
    script.write_text(PGBENCH_INSERT)
    env = {
        **os.environ,
        "PGHOST": database.host,
        "PGPORT": str(database.port),
        "PGUSER": database.user,
        "PGPASSWORD": database.password,
        "PGDATABASE": database.dbname,
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(database.sslrootcert),
    }
    command = [
        str(server.bin_dir / "pgbench"),
        "--no-vacuum",
        f"--client={clients}",
        f"--jobs={min(clients, 2)}",
        f"--time={int(seconds)}",
        "--protocol=prepared",
        f"--file={script}",
    ]

    def run() -> tuple[str]:
        completed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return (completed.stdout,)

    (output,), elapsed, cpu, api_cpu = _measure("pgbench", processes, run)
    transactions = int(_pgbench_figure(r"number of transactions actually processed: (\d+)", output))
    average = float(_pgbench_figure(r"latency average = ([\d.]+) ms", output))
    # pgbench reports the average only; the p50/p99 columns show that average.
    return PhaseResult(
        "pgbench single-row INSERT", transactions, elapsed, average, average, cpu, api_cpu
    )


def _summed(name: str, turns: list[PhaseResult]) -> PhaseResult:
    """One phase from its turns: counts, seconds and CPU added; the median p50, the worst p99."""
    return PhaseResult(
        name,
        sum(each.count for each in turns),
        sum(each.seconds for each in turns),
        statistics.median(each.p50_ms for each in turns),
        max(each.p99_ms for each in turns),
        sum(each.server_cpu_seconds for each in turns),
        sum(each.api_cpu_seconds for each in turns),
    )


def _pgbench_figure(pattern: str, output: str) -> str:
    """The figure `pattern` captures in pgbench's report."""
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
    return match[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Long enough that an autovacuum run (its CPU counts, as PostgreSQL's) is averaged out.
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--slices", type=int, default=5)
    args = parser.parse_args()
    turn = {"clients": args.clients, "seconds": args.seconds / args.slices}

    with tempfile.TemporaryDirectory() as scratch, PostgresServer() as server:
        # Migrated as a deploy does; the API, pgbench and the reads log in as payments_api.
        app_database = create_app_database(server, "payments_bench")
        database = app_database.api
        # INFO, production's level: one JSON line per request is part of the cost.
        env = {**database.env(), "DB_POOL_MIN": str(args.clients), "LOG_LEVEL": "INFO"}
        env["DB_POOL_MAX"] = str(args.clients)
        # Before the API starts: it loads the keys at its first authenticated request, then
        # every API_KEY_CACHE_SECONDS, and a key made after a load works only from the next one.
        key = create_api_key(app_database.keys.env(), "bench")
        with ApiServer(env, Path(scratch)) as api:
            assert api.process is not None  # started
            processes = _server_processes(api.process.pid, server.data_dir)
            api.wait_until_ready()
            load = {"clients": args.clients, "seconds": args.seconds}
            # A warm-up: connections opened, statements prepared.
            run_api_phase(api, processes, "warm-up", "post.lua", [key], **{**load, "seconds": 5})
            posts, inserts = [], []
            for _ in range(args.slices):
                posts.append(run_api_phase(api, processes, "POST", "post.lua", [key], **turn))
                inserts.append(
                    run_pgbench(server, database, processes, **turn, work_dir=Path(scratch))
                )
            post = _summed("POST /api/payments", posts)
            pgbench = _summed("pgbench single-row INSERT", inserts)
            ids_file = Path(scratch) / "ids.txt"
            _payment_ids(database, ids_file)
            get = run_api_phase(
                api, processes, "GET /api/payments/{id}", "get.lua", [key, str(ids_file)], **load
            )

    print(
        f"{os.cpu_count()} cores, {args.clients} clients, {args.seconds:.0f} s per phase "
        f"(POST and pgbench in {args.slices} turns each), one API worker (log level INFO), "
        "wrk, PostgreSQL over TLS (verify-full)"
    )
    columns = {
        "per s": 8,
        "p50 ms": 8,
        "p99 ms": 8,
        "server CPU s": 13,
        "per core-s": 11,
        "API us/op": 10,
        "PG us/op": 9,
    }
    print(f"{'phase':<28} " + " ".join(f"{name:>{width}}" for name, width in columns.items()))
    for phase in (post, get, pgbench):
        print(
            f"{phase.name:<28} {phase.rate:>8.0f} {phase.p50_ms:>8.1f} "
            f"{phase.p99_ms:>8.1f} {phase.server_cpu_seconds:>13.1f} "
            f"{phase.rate_per_core:>11.0f} {phase.api_us_per_op:>10.0f} "
            f"{phase.postgres_us_per_op:>9.0f}"
        )
    ratio = post.rate_per_core / pgbench.rate_per_core
    print(f"API POST per core / pgbench INSERT per core = {ratio:.3f} (target >= 0.15)")
    print(f"API POST p99 = {post.p99_ms:.1f} ms (target < 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
