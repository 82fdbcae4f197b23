"""The API's CloudWatch metrics (Embedded Metric Format on the request log lines), read from
the real HTTPS server's output against the real PostgreSQL: every line is valid EMF with
exactly the names, units and dimension sets of metrics.json; no dimension or metric carries a
secret, a card number or a high-cardinality value; the log level does not switch the metrics
off, and a database outage is counted.

A load run's lines adding up to the requests sent: test_metrics_load.py. The contract's guard,
the package as the image holds it, and the database timings: test_metrics_contract.py.
"""

import json
import socket
import uuid
from pathlib import Path

from fastapi.routing import iter_route_contexts
from payments_local_servers.api import ApiServer, AppDatabase

from payments_api.cards import contains_card_number
from payments_api.main import create_app
from payments_api.settings import Settings
from tests.utils.api_server import raw_exchange, wait_for_records
from tests.utils.emf import CONTRACT, LIST, declared, emf_errors
from tests.utils.keys import TEST_CLIENT
from tests.utils.payments import CARD, new_idempotency_key, payment_body
from tests.utils.settings import server_env

STATUS_CLASSES = {"1xx", "2xx", "3xx", "4xx", "5xx"}


def route_values() -> set[str]:
    """Every Route value the API may write: `METHOD path` of each route as the app serves it
    (`iter_route_contexts`: routers' prefixes included), and `other`."""
    app = create_app(Settings.model_construct())  # builds the routes, connects to nothing
    return {
        f"{method} {route.path}"
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
    } | {"other"}


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
    assert len(wait_for_records(api_server, lambda r: r.get("request_id") == run, 6)) == 6
    raw_exchange(api_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert wait_for_records(api_server, lambda r: r.get("refused_by") == "http_parser", 1)

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


# 2. Nothing secret or high-cardinality in a metric


def test_no_dimension_or_metric_carries_a_secret_a_card_number_or_an_id(
    api_server: ApiServer, api_key: str
) -> None:
    run = f"secrets-{uuid.uuid4().hex[:8]}"
    reference = f"ref-{uuid.uuid4().hex[:12]}"
    idempotency_key = new_idempotency_key("idem")
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
    lines = wait_for_records(
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
    # Drawn again while a request id `{odd}-{number}` would hold a card number (about once in
    # 1,300 draws): the API would replace that id, and its line would not be found below.
    while any(contains_card_number(f"{odd}-{number}") for number in range(8)):
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
    odd_lines = wait_for_records(api_server, lambda r: str(r.get("request_id")).startswith(odd), 7)
    assert [r["Route"] for r in odd_lines] == ["other"] * 7, odd_lines
    allowed = route_values()
    lines = [r for r in api_server.log_records() if "_aws" in r]
    assert len(lines) > 2
    assert {r["Route"] for r in lines} <= allowed
    assert {r["StatusClass"] for r in lines} <= STATUS_CLASSES
    assert not [r for r in lines if odd in json.dumps({k: r[k] for k in ("Route", "_aws")})]
    assert len(allowed) < 20  # a small set: routes x methods, and "other"


# 3. Metrics the log level does not switch off, and a database outage


def test_above_info_the_lines_keep_the_metrics_without_the_request(
    app_database: AppDatabase, api_key: str, tmp_path: Path
) -> None:
    with ApiServer(server_env(app_database, LOG_LEVEL="WARNING"), tmp_path) as server:
        server.wait_until_ready()
        with server.client(api_key) as http:
            response = http.post(
                "/api/payments",
                json=payment_body(),
                headers={"Idempotency-Key": new_idempotency_key("quiet")},
            )
        assert response.status_code == 201
        [line] = wait_for_records(server, lambda r: r.get("PaymentsCreated") == 1, 1)
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
    request_id = new_idempotency_key("outage")
    with ApiServer(env, tmp_path) as server:  # live, never ready
        with server.client("pay_0123456789ab_" + "C" * 43) as http:
            response = http.get("/api/payments", headers={"X-Request-Id": request_id})
        assert response.status_code == 503
        # Not wait_for_log_records: the warning that says why carries the id too, first.
        [line] = wait_for_records(
            server, lambda r: r.get("request_id") == request_id and r["message"] == "request", 1
        )
    assert emf_errors(line) == []
    assert (line["Route"], line["StatusClass"], line["ServerErrors"]) == (LIST, "5xx", 1)
    assert line["PoolWait"] > 450  # it waited DB_POOL_TIMEOUT (0.5 s) for a connection
    assert "DatabaseLatency" not in line  # and never had one
    assert line["Requests"] == 1
    assert line["AuthFailures"] == line["RequestsRefused"] == 0
