"""Throughput and latency of one API worker against local PostgreSQL, beside pgbench.

    .venv/bin/python bench/api_bench.py [--seconds 10] [--clients 8]

In one run, on one fresh PostgreSQL server over TLS (verify-full, as in production):
1. the real API (``python -m payments_api.serve``: one uvicorn worker, HTTPS) under
   ``--clients`` client processes, each with one keep-alive HTTPS connection, sending
   ``POST /api/payments`` (a new Idempotency-Key each) for ``--seconds``; then ``GET
   /api/payments/{id}`` of the payments just created, for ``--seconds``;
2. ``pgbench`` with the same number of clients, inserting one row per transaction into the
   same ``payments`` table with the same columns the API writes, for ``--seconds``.

It prints requests per second with p50 and p99 latency, pgbench's transactions per second,
and both per core: each rate divided by the CPU the server side used meanwhile (the API
process plus every PostgreSQL process, read with psutil), so the client processes that
share this machine do not count against either. docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from payments_local_servers.api import ApiServer, create_api_key
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer

PGBENCH_INSERT = """\
INSERT INTO payments
    (client_id, idempotency_key, request_hash, amount_minor, currency, merchant_reference)
VALUES ('bench', gen_random_uuid()::text, sha256(random()::text::bytea), 1234, 'USD', 'bench');
"""


@dataclass
class PhaseResult:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def rate_per_core(self) -> float:
        """Operations per CPU-second of the server side (API + PostgreSQL)."""
        return self.count / self.server_cpu_seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _client_loop(
    port: int,
    cafile: str,
    api_key: str,
    seconds: float,
    mode: str,
    *,
    ids: list[str],
    out: multiprocessing.Queue,
) -> None:
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    latencies, created = [], []
    authorization = {"Authorization": f"Bearer {api_key}"}
    body = json.dumps({"amount_minor": 1234, "currency": "USD", "merchant_reference": "bench"})
    deadline = time.perf_counter() + seconds
    index = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        if mode == "post":
            headers = {
                **authorization,
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
            }
            connection.request("POST", "/api/payments", body=body, headers=headers)
        else:
            path = f"/api/payments/{ids[index % len(ids)]}"
            connection.request("GET", path, headers=authorization)
            index += 1
        response = connection.getresponse()
        payload = response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        expected = 201 if mode == "post" else 200
        if response.status != expected:
            raise RuntimeError(f"{mode}: HTTP {response.status}: {payload[:200]!r}")
        if mode == "post":
            created.append(json.loads(payload)["id"])
    out.put((latencies, created))


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


def _measure(name: str, processes: list[psutil.Process], run: Callable[[], tuple]) -> tuple:
    cpu_before, started = _cpu_seconds(processes), time.perf_counter()
    result = run()
    elapsed, cpu_used = time.perf_counter() - started, _cpu_seconds(processes) - cpu_before
    return result, elapsed, cpu_used


def run_api_phase(
    api: ApiServer,
    api_key: str,
    processes: list[psutil.Process],
    mode: str,
    *,
    clients: int,
    seconds: float,
    ids: list[str],
) -> tuple[PhaseResult, list[str]]:
    queue: multiprocessing.Queue = multiprocessing.Queue()

    def run() -> tuple[list[float], list[str]]:
        workers = [
            multiprocessing.Process(
                target=_client_loop,
                args=(api.port, str(api.certificate_path), api_key, seconds, mode),
                kwargs={"ids": ids, "out": queue},
            )
            for _ in range(clients)
        ]
        for worker in workers:
            worker.start()
        results = [queue.get(timeout=seconds + 60) for _ in workers]
        for worker in workers:
            worker.join()
        latencies = [value for result in results for value in result[0]]
        created = [value for result in results for value in result[1]]
        return latencies, created

    (latencies, created), elapsed, cpu = _measure(mode, processes, run)
    name = "POST /api/payments" if mode == "post" else "GET /api/payments/{id}"
    return PhaseResult(name, len(latencies), elapsed, latencies, cpu), created


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

    (output,), elapsed, cpu = _measure("pgbench", processes, run)
    transactions = int(_pgbench_figure(r"number of transactions actually processed: (\d+)", output))
    average = float(_pgbench_figure(r"latency average = ([\d.]+) ms", output))
    # pgbench reports the average only; the p50/p99 columns show that average.
    return PhaseResult("pgbench single-row INSERT", transactions, elapsed, [average], cpu)


def _pgbench_figure(pattern: str, output: str) -> str:
    """The figure `pattern` captures in pgbench's report."""
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
    return match[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch, PostgresServer() as server:
        database = server.create_database("payments_bench")
        # INFO, production's level: one JSON line per request is part of the cost.
        env = {**database.env(), "DB_POOL_MIN": str(args.clients), "LOG_LEVEL": "INFO"}
        env["DB_POOL_MAX"] = str(args.clients)
        with ApiServer(env, Path(scratch)) as api:
            assert api.process is not None  # started
            processes = _server_processes(api.process.pid, server.data_dir)
            api.wait_until_ready()
            key = create_api_key(database.env(), "bench")
            load = {"clients": args.clients, "seconds": args.seconds}
            run_api_phase(api, key, processes, "post", clients=args.clients, seconds=1.0, ids=[])
            post, ids = run_api_phase(api, key, processes, "post", **load, ids=[])
            get, _ = run_api_phase(api, key, processes, "get", **load, ids=ids)
            pgbench = run_pgbench(server, database, processes, **load, work_dir=Path(scratch))

    print(
        f"{os.cpu_count()} cores, {args.clients} clients, {args.seconds:.0f} s per phase, "
        "one API worker, PostgreSQL over TLS (verify-full)"
    )
    columns = {"per s": 8, "p50 ms": 8, "p99 ms": 8, "server CPU s": 13, "per core-s": 11}
    print(f"{'phase':<28} " + " ".join(f"{name:>{width}}" for name, width in columns.items()))
    for phase in (post, get, pgbench):
        print(
            f"{phase.name:<28} {phase.rate:>8.0f} {phase.percentile(0.50):>8.1f} "
            f"{phase.percentile(0.99):>8.1f} {phase.server_cpu_seconds:>13.1f} "
            f"{phase.rate_per_core:>11.0f}"
        )
    ratio = post.rate_per_core / pgbench.rate_per_core
    print(f"API POST per core / pgbench INSERT per core = {ratio:.2f} (target >= 0.15)")
    print(f"API POST p99 = {post.percentile(0.99):.1f} ms (target < 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
