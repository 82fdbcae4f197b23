"""The API's CloudWatch metrics (Embedded Metric Format on the request log lines), read from
the real HTTPS server's output against the real PostgreSQL: every line is valid EMF with
exactly the names, units and dimension sets of metrics.json; a load run's lines add up to the
requests sent; no dimension or metric carries a secret, a card number or a high-cardinality
value. Then the contract's guard, the package as the image holds it, and the database timings.
"""

import json
import math
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.routing import iter_route_contexts
from payments_local_servers.api import ApiServer, AppDatabase

from payments_api import metrics
from payments_api.db import DatabasePool, DatabaseUnavailableError
from payments_api.main import create_app
from payments_api.settings import Settings
from tests.utils.keys import TEST_CLIENT, new_api_key
from tests.utils.payments import payment_body
from tests.utils.settings import server_env, settings_for

API_DIR = Path(__file__).resolve().parents[1]
# Read here as the infrastructure reads it, not through the module under test.
CONTRACT: dict[str, Any] = json.loads(
    (API_DIR / "payments_api" / "metrics.json").read_text(encoding="utf-8")
)
NAMESPACE: str = CONTRACT["namespace"]
# CloudWatch's units (MetricDatum; the EMF specification's JSON schema lists the same).
CLOUDWATCH_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
STATUS_CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"}
CARD = "4111111111111111"
Key = tuple[str, tuple[tuple[str, str], ...]]  # (metric, ((dimension, value), ...))


def route_values() -> set[str]:
    """Every Route value the API may write: `METHOD path` of each route as the app serves it
    (`iter_route_contexts`: routers' prefixes included), and `other`."""
    app = create_app(Settings.model_construct())  # builds the routes, connects to nothing
    return {
        f"{method} {route.path}"
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
    } | {"other"}


def emf_errors(record: dict[str, Any]) -> list[str]:
    """What makes `record` invalid EMF, per the specification: the `_aws` metadata (Timestamp
    in ms, CloudWatchMetrics) and each MetricDirective (`directive_errors`)."""
    aws = record.get("_aws")
    if not isinstance(aws, dict):
        return ["no _aws object"]
    errors = []
    timestamp = aws.get("Timestamp")
    if not isinstance(timestamp, int) or abs(timestamp / 1000 - time.time()) > 3600:
        errors.append(f"Timestamp {timestamp!r} is not now in milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*errors, "CloudWatchMetrics is not a non-empty array"]
    for directive in directives:
        errors += directive_errors(directive, record)
    return errors


def directive_errors(directive: Any, record: dict[str, Any]) -> list[str]:
    """A MetricDirective: Namespace (the contract's), Dimensions (DimensionSets of at most 30
    keys, each a string member of the line), Metrics (at most 100 {Name, Unit}, each a number
    member of the line, in a CloudWatch unit)."""
    if not isinstance(directive, dict) or set(directive) != {"Namespace", "Dimensions", "Metrics"}:
        return [f"malformed MetricDirective {directive!r}"]
    errors = []
    if directive["Namespace"] != NAMESPACE:
        errors.append(f"namespace {directive['Namespace']!r}")
    dimension_sets = directive["Dimensions"]
    if not isinstance(dimension_sets, list) or not dimension_sets:
        return [*errors, f"Dimensions {dimension_sets!r} is not a non-empty array"]
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > 30:
            errors.append(f"DimensionSet {dimension_set!r}")
            continue
        for name in dimension_set:
            value = record.get(name) if isinstance(name, str) else None
            if not isinstance(value, str) or not 0 < len(value) <= 1024:
                errors.append(f"dimension {name!r} has no string value: {value!r}")
    definitions = directive["Metrics"]
    if not isinstance(definitions, list) or not 0 < len(definitions) <= 100:
        return [*errors, f"Metrics {definitions!r}"]
    for definition in definitions:
        errors += definition_errors(definition, record)
    return errors


def definition_errors(definition: Any, record: dict[str, Any]) -> list[str]:
    """A MetricDefinition: Name and Unit (a CloudWatch unit), its value a finite number."""
    if not isinstance(definition, dict) or set(definition) != {"Name", "Unit"}:
        return [f"MetricDefinition {definition!r}"]
    errors = []
    if definition["Unit"] not in CLOUDWATCH_UNITS:
        errors.append(f"unit {definition['Unit']!r}")
    value = record.get(definition["Name"])
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(f"metric {definition['Name']!r} has no number: {value!r}")
    elif not math.isfinite(value):
        errors.append(f"metric {definition['Name']!r} is not finite")
    return errors


def declared(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The line's metrics as its directives declare them: name -> unit and dimension sets
    (each metric declared once)."""
    found: dict[str, dict[str, Any]] = {}
    for directive in record["_aws"]["CloudWatchMetrics"]:
        for definition in directive["Metrics"]:
            assert definition["Name"] not in found, f"declared twice: {definition['Name']}"
            found[definition["Name"]] = {
                "unit": definition["Unit"],
                "dimensions": directive["Dimensions"],
            }
    return found


def aggregate(records: Iterable[dict[str, Any]]) -> tuple[Counter[Key], Counter[Key]]:
    """What CloudWatch would extract: per metric and dimension values, the sum and the
    number of values."""
    sums: Counter[Key] = Counter()
    samples: Counter[Key] = Counter()
    for record in records:
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple((name, record[name]) for name in dimension_set)
                for definition in directive["Metrics"]:
                    key = (definition["Name"], dimensions)
                    sums[key] += record[definition["Name"]]
                    samples[key] += 1
    return sums, samples


def raw_exchange(server: ApiServer, request: bytes) -> bytes:
    """Send `request` over TLS as it is (no client would send it) and return the answer."""
    context = server.ssl_context()
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        answer = b""
        try:
            while chunk := tls.recv(65536):
                answer += chunk
        except (TimeoutError, ssl.SSLError, ConnectionError):
            pass
    return answer


def wait_for(
    server: ApiServer, select: Callable[[dict[str, Any]], bool], count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The server's records that `select` picks, once there are `count` (lines are written
    after the response has gone out)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [r for r in server.log_records() if select(r)]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


# 1. Every line is valid EMF, with exactly the contract's metrics


def test_every_request_line_is_valid_emf_with_the_contracts_names_units_and_dimensions(
    api_server: ApiServer, api_key: str
) -> None:
    run = f"emf-{uuid.uuid4().hex[:8]}"
    with api_server.client(api_key, headers={"X-Request-Id": run}) as http:
        created = http.post(
            "/api/payments", json=payment_body(), headers={"Idempotency-Key": f"{run}-1"}
        )
        assert created.status_code == 201
        http.get(created.headers["Location"])
        http.get("/api/payments")
        http.get("/readyz")
        http.get("/no-such-route")
    with api_server.client(headers={"X-Request-Id": run}) as anonymous:
        assert anonymous.get("/api/payments").status_code == 401
    assert len(wait_for(api_server, lambda r: r.get("request_id") == run, 6)) == 6
    raw_exchange(api_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert wait_for(api_server, lambda r: r.get("refused_by") == "http_parser", 1)

    # Every request line the shared server wrote, for these requests and every other test's.
    lines = [r for r in api_server.log_records() if r["message"] == "request"]
    assert len(lines) >= 7
    seen: set[str] = set()
    for line in lines:
        assert emf_errors(line) == [], line
        for name, declaration in declared(line).items():
            assert name in CONTRACT["metrics"], name
            expected = CONTRACT["metrics"][name]
            assert declaration == {"unit": expected["unit"], "dimensions": expected["dimensions"]}
            seen.add(name)
        # Present on every line: all but the timings that only some requests measure.
        assert set(declared(line)) >= set(CONTRACT["metrics"]) - {
            "Latency",
            "DatabaseLatency",
            "PoolWait",
        }
        if "latency_ms" in line:  # answered by the app: its latency, as logged
            assert line["Latency"] == line["latency_ms"]
        # Dimensions are only the contract's.
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                assert set(dimension_set) <= set(CONTRACT["dimensions"])
    assert seen == set(CONTRACT["metrics"])  # every declared metric is emitted


# 2. A load run adds up to what was sent


@dataclass(frozen=True)
class Call:
    """One request of the load run, and what its line must say."""

    method: str
    path: str
    route: str  # the Route dimension its line must carry
    status: int
    api_key: str | None = ""  # "": the run's key; None: no Authorization header
    body: dict[str, Any] | None = None
    idempotency_key: str | None = None
    database: bool | None = None  # must its line have (True) or lack (False) the timings


class LoadRun:
    """Sends Calls to `server` (8 at a time), each with a request id of the run, and counts
    them by Route and StatusClass."""

    def __init__(self, server: ApiServer, key: str) -> None:
        self.server = server
        self.key = key
        self.run = f"load-{uuid.uuid4().hex[:8]}"
        self.sent: Counter[tuple[str, str]] = Counter()
        self.database: dict[str, bool] = {}  # request id -> uses the database
        self._numbers = iter(range(1_000_000))
        self._lock = threading.Lock()  # the calls run in threads

    def request_id(self) -> str:
        with self._lock:
            return f"{self.run}-{next(self._numbers)}"

    def send(self, call: Call) -> httpx2.Response:
        request_id = self.request_id()
        headers = {"X-Request-Id": request_id}
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        api_key = self.key if call.api_key == "" else call.api_key
        with self.server.client(api_key) as http:
            response = http.request(call.method, call.path, headers=headers, json=call.body)
        assert response.status_code == call.status, (call, response.text)
        self.count(call.route, call.status)
        if call.database is not None:
            with self._lock:
                self.database[request_id] = call.database
        return response

    def count(self, route: str, status: int) -> None:
        with self._lock:
            self.sent[route, f"{status // 100}xx"] += 1

    def send_all(self, calls: list[Call]) -> list[httpx2.Response]:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(self.send, calls))

    def lines(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.server.log_records()
            if str(r.get("request_id", "")).startswith(self.run)
        ]


POST = "POST /api/payments"
READ = "GET /api/payments/{payment_id}"
LIST = "GET /api/payments"


def test_a_load_run_aggregates_to_exactly_the_requests_sent(
    isolated_database: AppDatabase, tmp_path: Path
) -> None:
    creates, replays, conflicts = 24, 10, 6
    with ApiServer(server_env(isolated_database), tmp_path) as server:
        server.wait_until_ready()
        load = LoadRun(server, new_api_key(isolated_database, "metrics-load"))
        bodies = [payment_body(amount_minor=100 + i) for i in range(creates)]
        keys = [f"{load.run}-key-{i}" for i in range(creates)]
        made = load.send_all(
            [
                Call(
                    "POST",
                    "/api/payments",
                    POST,
                    201,
                    body=bodies[i],
                    idempotency_key=keys[i],
                    database=True,
                )
                for i in range(creates)
            ]
        )
        assert not any("Idempotent-Replayed" in r.headers for r in made)
        paths = [r.headers["Location"] for r in made]
        other = payment_body(amount_minor=1)
        unknown_key = "pay_000000000000_" + "A" * 43  # well formed: looked up, not found
        answers = load.send_all(
            [
                *(
                    Call(
                        "POST",
                        "/api/payments",
                        POST,
                        201,
                        body=bodies[i],
                        idempotency_key=keys[i],
                        database=True,
                    )
                    for i in range(replays)
                ),
                *(
                    Call(
                        "POST",
                        "/api/payments",
                        POST,
                        409,
                        body=other,
                        idempotency_key=keys[i],
                        database=True,
                    )
                    for i in range(conflicts)
                ),
                # 401 (8): no key, a malformed key, an unknown key
                *[Call("POST", "/api/payments", POST, 401, None, bodies[0], database=False)] * 4,
                Call("GET", "/api/payments", LIST, 401, None, database=False),
                Call("POST", "/api/payments", POST, 401, "not-a-key", bodies[0], database=False),
                Call("GET", paths[0], READ, 401, "pay_x_y", database=False),
                Call("GET", "/api/payments", LIST, 401, unknown_key, database=True),
                # 422 (4): bodies, a missing header, a path the route refuses
                Call("POST", "/api/payments", POST, 422, "", {"amount_minor": 5}, "bad-1"),
                Call("POST", "/api/payments", POST, 422, "", {**bodies[0], "card": CARD}, "b-2"),
                Call("POST", "/api/payments", POST, 422, "", bodies[0]),
                Call("GET", f"/api/payments/{CARD}", READ, 422),
                # reads
                *(Call("GET", paths[i], READ, 200, database=True) for i in range(5)),
                Call("GET", f"/api/payments/{uuid.uuid4()}", READ, 404, database=True),
                Call("GET", "/api/payments?limit=5", LIST, 200, database=True),
                Call("GET", "/healthz", "GET /healthz", 200, None, database=False),
                # unmatched: no route, or not with this method
                Call("GET", "/no-such-route", "other", 404, database=False),
                Call("GET", f"{paths[1]}/refunds", "other", 404, database=False),
                Call("POST", paths[2], "other", 405, body=bodies[0], database=False),
                Call("DELETE", "/api/payments", "other", 405, database=False),
            ]
        )
        assert all(r.headers["Idempotent-Replayed"] == "true" for r in answers[:replays])

        # Refused before any route: 413 by the size limit (its line has the request id), 400
        # and 431 by the HTTP protocol (their lines have none).
        too_large = raw_exchange(
            server,
            b"POST /api/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-Request-Id: {load.request_id()}\r\n".encode()
            + b"Content-Length: 300000000\r\n\r\n",
        )
        assert too_large.startswith(b"HTTP/1.1 413"), too_large[:100]
        load.count("other", 413)
        bad = raw_exchange(server, b"GET /api/payments HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400"), bad[:100]
        big = raw_exchange(
            server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 12_000 + b"\r\n\r\n"
        )
        assert big.startswith(b"HTTP/1.1 431"), big[:100]
        answered_by_app = sum(load.sent.values())
        load.count("other", 400)
        load.count("other", 431)

        wait_for(
            server, lambda r: str(r.get("request_id", "")).startswith(load.run), answered_by_app
        )
        wait_for(server, lambda r: r.get("refused_by") == "http_parser", 2)
        time.sleep(0.3)  # a line too many would come now
        app_lines = load.lines()
        refused_lines = [r for r in server.log_records() if r.get("refused_by") == "http_parser"]

    assert len(app_lines) == answered_by_app
    assert sorted(r["status"] for r in refused_lines) == [400, 431]
    lines = app_lines + refused_lines
    for line in lines:
        assert emf_errors(line) == [], line
    sums, samples = aggregate(lines)
    assert sums["PaymentsCreated", ()] == creates
    assert sums["PaymentsReplayed", ()] == replays
    assert sums["PaymentsConflicted", ()] == conflicts
    assert sums["AuthFailures", ()] == 8
    assert sums["RequestsRefused", ()] == 4 + 3  # the 422s; the 413, the 400 and the 431
    assert sums["ServerErrors", ()] == 0
    assert sums["Requests", ()] == sum(load.sent.values()) == len(lines)
    by_route_and_class = {
        (dict(dims)["Route"], dict(dims)["StatusClass"]): n
        for (name, dims), n in sums.items()
        if name == "Requests" and dims
    }
    assert by_route_and_class == dict(load.sent)
    # Latency: one value per request the app answered (the protocol measures none), by
    # route and in total.
    latencies = {dict(d)["Route"]: n for (name, d), n in samples.items() if name == "Latency" and d}
    expected: Counter[str] = Counter()
    for (route, _), n in load.sent.items():
        expected[route] += n
    expected["other"] -= 2
    assert latencies == dict(expected)
    assert samples["Latency", ()] == answered_by_app
    # The database timings: on the lines of requests that used the database, only there.
    for line in app_lines:
        uses_database = load.database.get(line["request_id"])
        if uses_database is True:
            assert line["DatabaseLatency"] > 0, line
            assert line["PoolWait"] >= 0, line
        elif uses_database is False:
            assert "DatabaseLatency" not in line, line
            assert "PoolWait" not in line, line
    assert len(load.database) > 40


# 3. Nothing secret or high-cardinality in a metric


def test_no_dimension_or_metric_carries_a_secret_a_card_number_or_an_id(
    api_server: ApiServer, api_key: str
) -> None:
    run = f"secrets-{uuid.uuid4().hex[:8]}"
    reference = f"ref-{uuid.uuid4().hex[:12]}"
    idempotency_key = f"idem-{uuid.uuid4().hex}"
    request_ids = [f"{run}-{i}" for i in range(8)]
    ids = iter(request_ids)
    with api_server.client(api_key) as http:
        created = http.post(
            "/api/payments",
            json=payment_body(merchant_reference=reference),
            headers={"Idempotency-Key": idempotency_key, "X-Request-Id": next(ids)},
        )
        assert created.status_code == 201
        payment_id = created.json()["id"]
        for path in (
            f"/api/payments/{payment_id}",  # a payment id
            f"/api/payments/{CARD}",  # a card number, where the id goes
            f"/api/payments/{payment_id}/{CARD}",  # unmatched
            f"/{CARD}",
            f"/api/payments?after={reference}",
        ):
            http.get(path, headers={"X-Request-Id": next(ids)})
        http.post(f"/api/payments/{payment_id}", json={}, headers={"X-Request-Id": next(ids)})
    with api_server.client("pay_" + CARD[:12] + "_" + "B" * 43) as stranger:
        assert stranger.get("/api/payments", headers={"X-Request-Id": next(ids)}).status_code == 401
    lines = wait_for(
        api_server,
        lambda r: r.get("request_id") in request_ids and r["message"] == "request",
        len(request_ids),
    )
    assert len(lines) == len(request_ids)

    secrets = [
        payment_id,
        CARD,
        CARD[:6],
        api_key,
        api_key.split("_")[1],  # the key's prefix
        api_key.split("_", 2)[2],  # its secret
        idempotency_key,
        reference,
        TEST_CLIENT,
        *request_ids,
    ]
    allowed_routes = route_values()
    for line in lines:
        metric_names = set(declared(line))
        assert metric_names <= set(CONTRACT["metrics"])
        emf_part = {"_aws": line["_aws"]}
        for directive in line["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for name in dimension_set:
                    emf_part[name] = line[name]
            for definition in directive["Metrics"]:
                value = line[definition["Name"]]
                assert isinstance(value, int | float) and not isinstance(value, bool)
                emf_part[definition["Name"]] = value
        assert line["Route"] in allowed_routes, line["Route"]
        assert line["StatusClass"] in STATUS_CLASSES
        text = json.dumps(emf_part)
        for secret in secrets:
            assert secret not in text, (secret, emf_part)
    assert {line["Route"] for line in lines} == {
        "POST /api/payments",
        "GET /api/payments/{payment_id}",
        "GET /api/payments",
        "other",
    }


def test_every_dimension_value_the_server_ever_wrote_is_from_the_closed_sets(
    api_server: ApiServer,
) -> None:
    # The shared server's whole output so far (every earlier test's requests), after requests
    # whose method and path a client chooses freely.
    odd = uuid.uuid4().hex
    with api_server.client() as http:
        for number, (method, path) in enumerate(
            [
                ("GET", f"/api/{odd}"),
                ("PATCH", "/healthz"),
                ("PUT", f"/api/payments/{uuid.uuid4()}"),
                ("OPTIONS", "/api/payments"),
                ("HEAD", f"/{odd}"),
                ("GET", f"/api/payments/%2e%2e/{odd}?limit={odd}"),
                ("GET", "/" + "x" * 2000),
                (f"M{odd[:8].upper()}", "/api/payments"),  # the HTTP parser's 400: no id
            ]
        ):
            http.request(method, path, headers={"X-Request-Id": f"{odd}-{number}"})
    odd_lines = wait_for(api_server, lambda r: str(r.get("request_id")).startswith(odd), 7)
    assert [r["Route"] for r in odd_lines] == ["other"] * 7, odd_lines
    allowed = route_values()
    lines = [r for r in api_server.log_records() if "_aws" in r]
    assert len(lines) > 2
    assert {r["Route"] for r in lines} <= allowed
    assert {r["StatusClass"] for r in lines} <= STATUS_CLASSES
    assert not [r for r in lines if odd in json.dumps({k: r[k] for k in ("Route", "_aws")})]
    assert len(allowed) < 20  # a small set: routes x methods, and "other"


# 4. Metrics the log level does not switch off, and a database outage


def test_above_info_the_lines_keep_the_metrics_without_the_request(
    app_database: AppDatabase, api_key: str, tmp_path: Path
) -> None:
    with ApiServer(server_env(app_database, LOG_LEVEL="WARNING"), tmp_path) as server:
        server.wait_until_ready()
        with server.client(api_key) as http:
            response = http.post(
                "/api/payments",
                json=payment_body(),
                headers={"Idempotency-Key": f"quiet-{uuid.uuid4()}"},
            )
        assert response.status_code == 201
        [line] = wait_for(server, lambda r: r.get("PaymentsCreated") == 1, 1)
    assert emf_errors(line) == []
    assert (line["message"], line["Route"], line["StatusClass"]) == (
        "metrics",
        "POST /api/payments",
        "2xx",
    )
    assert not {"request_id", "path", "method", "client_id", "status"} & line.keys()
    assert not [r for r in server.log_records() if r.get("message") == "request"]


def test_a_database_outage_counts_server_errors_and_the_pool_wait(
    app_database: AppDatabase, tmp_path: Path
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    env = server_env(
        app_database, DB_HOST="127.0.0.1", DB_PORT=str(closed_port), DB_POOL_TIMEOUT="0.5"
    )
    request_id = f"outage-{uuid.uuid4()}"
    with ApiServer(env, tmp_path) as server:  # live, never ready
        with server.client("pay_0123456789ab_" + "C" * 43) as http:
            response = http.get("/api/payments", headers={"X-Request-Id": request_id})
        assert response.status_code == 503
        # Not wait_for_log_records: the warning that says why carries the id too, first.
        [line] = wait_for(
            server, lambda r: r.get("request_id") == request_id and r["message"] == "request", 1
        )
    assert emf_errors(line) == []
    assert (line["Route"], line["StatusClass"], line["ServerErrors"]) == (LIST, "5xx", 1)
    assert line["PoolWait"] > 450  # it waited DB_POOL_TIMEOUT (0.5 s) for a connection
    assert "DatabaseLatency" not in line  # and never had one
    assert line["Requests"] == 1
    assert line["AuthFailures"] == line["RequestsRefused"] == 0


# 5. The contract, the package as the image holds it, the timings


def test_the_contract_is_exactly_what_the_api_computes() -> None:
    metrics.check_contract(CONTRACT)
    changes: list[Callable[[dict[str, Any]], object]] = [
        lambda c: c["metrics"].pop("PoolWait"),
        lambda c: c["metrics"].update(Refunds={"unit": "Count", "dimensions": [[]]}),
        lambda c: c["dimensions"].update(ClientId="never"),
        lambda c: c["metrics"]["Latency"].update(unit="Millis"),
        lambda c: c["metrics"]["Requests"].update(dimensions=[["Route", "ClientId"]]),
        lambda c: c["metrics"]["Requests"].update(dimensions=[]),
    ]
    for change in changes:
        contract = json.loads(json.dumps(CONTRACT))
        change(contract)
        with pytest.raises(ValueError, match=r"metrics\.json"):
            metrics.check_contract(contract)


def test_directives_group_metrics_by_their_dimension_sets() -> None:
    directives = metrics.directives(CONTRACT, frozenset(CONTRACT["metrics"]))
    assert [d["Dimensions"] for d in directives] == [
        [["Route", "StatusClass"], []],
        [["Route"], []],
        [[]],
    ]
    assert [m["Name"] for d in directives for m in d["Metrics"]] == list(CONTRACT["metrics"])


def test_the_package_copied_as_a_directory_finds_its_contract(tmp_path: Path) -> None:
    # The image copies payments_api as a directory (no install): the contract travels with it.
    shutil.copytree(
        API_DIR / "payments_api",
        tmp_path / "payments_api",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    completed = subprocess.run(
        [sys.executable, "-c", "from payments_api import metrics; print(metrics.NAMESPACE)"],
        cwd=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (completed.returncode, completed.stdout.strip()) == (0, NAMESPACE), completed.stderr


@pytest.mark.anyio
async def test_the_pool_adds_each_runs_times_to_the_requests_timing(
    app_database: AppDatabase,
) -> None:
    pool = DatabasePool(settings_for(app_database))
    await pool.open()
    try:
        await pool.check_ready()  # outside a request: nothing to add to, nothing fails
        timing, token = metrics.start_request_timing()
        try:
            await pool.check_ready()
            first = timing.database_ms
            await pool.check_ready()
        finally:
            metrics.end_request_timing(token)
        assert metrics.request_timing() is None
    finally:
        await pool.close()
    assert first is not None and first > 0
    assert timing.database_ms is not None and timing.database_ms > first  # summed
    assert timing.pool_wait_ms is not None and timing.pool_wait_ms >= 0


@pytest.mark.anyio
async def test_a_pool_timeout_is_pool_wait_without_database_time(
    app_database: AppDatabase,
) -> None:
    settings = settings_for(app_database, db_host="127.0.0.2", db_pool_timeout=0.3)
    pool = DatabasePool(settings)
    await pool.open()
    timing, token = metrics.start_request_timing()
    try:
        with pytest.raises(DatabaseUnavailableError):
            await pool.check_ready()
    finally:
        metrics.end_request_timing(token)
        await pool.close()
    assert timing.pool_wait_ms is not None and timing.pool_wait_ms > 250  # DB_POOL_TIMEOUT 0.3 s
    assert timing.database_ms is None
