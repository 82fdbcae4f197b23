"""The API's CloudWatch metrics under load: the lines of a load run against the real HTTPS
server (its own, on a database of its own) add up to exactly the requests sent, by route and
status class, with the database timings on exactly the lines of requests that used the
database.
"""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from payments_local_servers.api import ApiServer, AppDatabase

from tests.utils.api_server import raw_exchange, wait_for_records
from tests.utils.emf import LIST, POST, READ, aggregate, emf_errors
from tests.utils.keys import new_api_key
from tests.utils.payments import CARD, payment_body
from tests.utils.settings import server_env


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


def test_a_load_run_aggregates_to_exactly_the_requests_sent(
    isolated_database: AppDatabase, tmp_path: Path
) -> None:
    creates, replays, conflicts = 24, 10, 6
    key = new_api_key(isolated_database, "metrics-load")  # before the server loads the keys
    with ApiServer(server_env(isolated_database), tmp_path) as server:
        server.wait_until_ready()
        load = LoadRun(server, key)
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
        # Well formed, not in the keys the task loaded: no query, as for any key.
        unknown_key = "pay_000000000000_" + "A" * 43
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
                Call("GET", "/api/payments", LIST, 401, unknown_key, database=False),
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

        wait_for_records(
            server, lambda r: str(r.get("request_id", "")).startswith(load.run), answered_by_app
        )
        wait_for_records(server, lambda r: r.get("refused_by") == "http_parser", 2)
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
