"""POST /api/payments is a `DirectRoute` (payments_api/direct_route.py): it must answer every
request exactly as FastAPI's own handler for the same route would.

Differential: each request is sent through the whole app twice, once to the route as it is
and once with the route's ASGI app swapped for FastAPI's handler of the same route
(`AuthenticatedRoute.get_route_handler`, what the route was before), and the two answers
(status, headers, body) must be the same. Generated (hypothesis, derandomized): the bearer key
right or wrong, the Idempotency-Key absent, valid or any Latin-1 text, the Content-Type absent,
JSON in its spellings or anything else, the body empty, a JSON object with the three fields as
any JSON value and extra fields, any JSON value, or any bytes (malformed JSON, invalid UTF-8,
duplicate keys). The database and the key check are stubs (as in bench/api_app_bench.py): the
comparison is of the two handlers, which never touch either themselves.

Then the cases a generator might miss, each named, and the shapes DirectRoute refuses to take.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import orjson
import pytest
from fastapi import APIRouter, Header, Query, Request
from fastapi.routing import request_response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments_api import store
from payments_api.auth import BEARER_SCHEME, AuthenticatedRoute
from payments_api.direct_route import DirectRoute
from payments_api.main import create_app
from payments_api.models import PaymentCreate
from payments_api.request_guards import JsonResponse
from payments_api.request_log import REQUEST_ID_HEADER
from payments_api.settings import Settings

KEY = "pay_0123456789ab_" + "a" * 43
PAYMENT = store.Payment(
    uuid.UUID(int=1),
    1999,
    "USD",
    "ref",
    "created",
    datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC),
)
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/merge-patch+json",
    "application/vnd.api+json; q=1",
    "application/jsonx",
    "application",
    "text/json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "",
    ";",
]


class StubPool:
    """Every database call answers as if the payment was created."""

    async def run(self, work: Callable[[Any], Awaitable[Any]]) -> store.CreateResult:
        return store.CreateResult(store.Outcome.CREATED, PAYMENT)


async def _client_for(pool: object, presented: str) -> str | None:
    return "test-client" if presented == KEY else None


@pytest.fixture(scope="module")
def app() -> Any:
    settings = Settings.model_validate(
        {"database_url": "postgresql://u:p@db.invalid/d", "db_sslrootcert": "/nonexistent"}
    )
    app = create_app(settings)
    app.state.key_verifier.client_for = _client_for
    return app


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def both(app: Any, loop: asyncio.AbstractEventLoop) -> Callable[..., tuple[Any, Any]]:
    """`both(headers, body)`: `both_answers` on the test app."""
    return lambda headers, body: both_answers(app, loop, headers, body)


def _post_route(app: Any) -> DirectRoute:
    (route,) = [r for r in app.router.routes if isinstance(r, DirectRoute)]
    assert route.path == "/api/payments" and route.methods == {"POST"}
    return route


def _answer(
    app: Any,
    loop: asyncio.AbstractEventLoop,
    headers: list[tuple[bytes, bytes]],
    body: bytes | None,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The app's answer; `body` None: the client is gone before its body comes."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/api/payments",
        "raw_path": b"/api/payments",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"api"),
            (b"content-length", str(len(body or b"")).encode()),
            (REQUEST_ID_HEADER.lower().encode(), b"direct-route-test"),
            *headers,
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8443),
        "state": {"pool": StubPool()},
    }
    sent: list[MutableMapping[str, Any]] = []
    delivered = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal delivered
        if delivered or body is None:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    loop.run_until_complete(app(scope, receive, send))
    start, *bodies = sent
    return (
        start["status"],
        list(start["headers"]),
        b"".join(m.get("body", b"") for m in bodies),
    )


def both_answers(
    app: Any,
    loop: asyncio.AbstractEventLoop,
    headers: list[tuple[bytes, bytes]],
    body: bytes | None,
) -> tuple[Any, Any]:
    """The route's answer, and FastAPI's handler's answer for the same route."""
    route = _post_route(app)
    direct_app = route.app
    try:
        direct = _answer(app, loop, headers, body)
        route.app = request_response(AuthenticatedRoute.get_route_handler(route))
        fastapi = _answer(app, loop, headers, body)
    finally:
        route.app = direct_app
    return direct, fastapi


LATIN1_TEXT = st.text(st.characters(codec="latin-1", min_codepoint=0x20), max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_VALUES = {
    "amount_minor": st.integers(-5, 10**12) | JSON_VALUES,
    "currency": st.sampled_from(["USD", "EUR", "usd", "XXX", ""]) | JSON_VALUES,
    "merchant_reference": st.sampled_from(["ref", "4111111111111111", "", "x" * 65]) | JSON_VALUES,
}


@st.composite
def payment_objects(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), unique=True))
    document = {name: draw(FIELD_VALUES[name]) for name in fields}
    document.update(draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=2)))
    return json.dumps(document).encode()


BODIES = (
    st.just(b"")
    | payment_objects()
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=60)
    | st.sampled_from(
        [
            b"{",
            b'{"amount_minor": 1, "amount_minor": 2}',
            b'{"currency": "\xff"}',
            '{"currency": "USD"}'.encode("utf-16"),
            b"\xef\xbb\xbf{}",
            b"[" * 200 + b"]" * 200,
            b"1" * 5000,
        ]
    )
)
IDEMPOTENCY_KEYS = st.none() | st.from_regex(r"\A[A-Za-z0-9_.:-]{1,8}\Z") | LATIN1_TEXT
AUTHORIZATIONS = st.sampled_from([f"Bearer {KEY}", f"bearer  {KEY} ", "Bearer nope", None])
CONTENT_TYPE_VALUES = st.none() | st.sampled_from(CONTENT_TYPES) | LATIN1_TEXT


@settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    authorization=AUTHORIZATIONS,
    idempotency_key=IDEMPOTENCY_KEYS,
    content_type=CONTENT_TYPE_VALUES,
    body=BODIES,
)
def test_answers_every_request_as_fastapis_handler_does(
    both: Callable[..., tuple[Any, Any]],
    authorization: str | None,
    idempotency_key: str | None,
    content_type: str | None,
    body: bytes,
) -> None:
    headers = [
        (name, value.encode("latin-1"))
        for name, value in (
            (b"authorization", authorization),
            (b"idempotency-key", idempotency_key),
            (b"content-type", content_type),
        )
        if value is not None
    ]
    direct, fastapi = both(headers, body)
    assert direct == fastapi


VALID = [(b"authorization", f"Bearer {KEY}".encode()), (b"idempotency-key", b"order-1")]
JSON_TYPE = (b"content-type", b"application/json")


@pytest.mark.parametrize(
    ("case", "headers", "body", "status"),
    [
        (
            "created",
            [*VALID, JSON_TYPE],
            b'{"amount_minor":1999,"currency":"USD","merchant_reference":"ref"}',
            201,
        ),
        ("no key: 401 before the body", [VALID[1], JSON_TYPE], b"{", 401),
        (
            "no Idempotency-Key",
            [VALID[0], JSON_TYPE],
            b'{"amount_minor":1,"currency":"USD","merchant_reference":"r"}',
            422,
        ),
        ("key and body both wrong", [VALID[0], (b"idempotency-key", b""), JSON_TYPE], b"[]", 422),
        ("empty body", [*VALID, JSON_TYPE], b"", 422),
        (
            "no Content-Type: not read as JSON",
            VALID,
            b'{"amount_minor":1,"currency":"USD","merchant_reference":"r"}',
            422,
        ),
        ("malformed JSON", [*VALID, JSON_TYPE], b'{"amount_minor":', 422),
        ("duplicate key", [*VALID, JSON_TYPE], b'{"currency":"USD","currency":"EUR"}', 422),
        (
            "card number in a key",
            [*VALID[:1], (b"idempotency-key", b"4111111111111111"), JSON_TYPE],
            b"{}",
            422,
        ),
        ("unknown field", [*VALID, JSON_TYPE], b'{"card_number":"4111111111111111"}', 422),
        (
            "+json type",
            [*VALID, (b"content-type", b"application/vnd.x+json")],
            b'{"amount_minor":1,"currency":"USD","merchant_reference":"r"}',
            201,
        ),
    ],
)
def test_named_cases_answer_as_fastapis_handler_does(
    both: Callable[..., tuple[Any, Any]],
    case: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    status: int,
) -> None:
    direct, fastapi = both(headers, body)
    assert direct == fastapi, case
    assert direct[0] == status, (case, direct)


@pytest.mark.parametrize("content_type", [None, *CONTENT_TYPES])
@pytest.mark.parametrize(
    "body",
    [
        b'{"amount_minor":1,"currency":"USD","merchant_reference":"r"}',
        b"[]",
        b"{",
        b'{"currency":"\xff"}',
    ],
)
def test_every_content_type_is_read_as_fastapi_reads_it(
    app: Any, loop: asyncio.AbstractEventLoop, content_type: str | None, body: bytes
) -> None:
    """As JSON or as bytes, by FastAPI's rule (`application/json` or `application/*+json`)."""
    headers = VALID + (
        [(b"content-type", content_type.encode())] if content_type is not None else []
    )
    direct, fastapi = both_answers(app, loop, headers, body)
    assert direct == fastapi


def test_a_client_gone_before_its_body_gets_fastapis_400(
    app: Any, loop: asyncio.AbstractEventLoop
) -> None:
    direct, fastapi = both_answers(app, loop, [*VALID, JSON_TYPE], None)
    assert direct == fastapi
    assert direct[0] == 400 and orjson.loads(direct[2]) == {
        "detail": "There was an error parsing the body"
    }


def test_the_two_errors_of_one_request_come_together_header_first(
    app: Any, loop: asyncio.AbstractEventLoop
) -> None:
    """Not only equal to FastAPI's: what a client sees, spelt out."""
    (status, _, body), _ = both_answers(
        app, loop, [VALID[0], (b"idempotency-key", b"no spaces"), JSON_TYPE], b"[]"
    )
    assert status == 422
    detail = orjson.loads(body)["detail"]
    assert [(e["type"], e["loc"]) for e in detail] == [
        ("string_pattern_mismatch", ["header", "Idempotency-Key"]),
        ("model_attributes_type", ["body"]),
    ]


def _route(endpoint: Callable[..., Any]) -> None:
    router = APIRouter(dependencies=[BEARER_SCHEME])
    router.add_api_route("/x", endpoint, methods=["POST"], route_class_override=DirectRoute)


def test_refuses_at_start_up_the_shapes_it_does_not_answer() -> None:
    async def with_query(request: Request, q: str = Query()) -> JsonResponse:
        return JsonResponse({})

    async def with_optional_header(
        request: Request, h: str | None = Header(None, alias="H")
    ) -> JsonResponse:
        return JsonResponse({})

    async def without_request(body: PaymentCreate) -> JsonResponse:
        return JsonResponse({})

    async def with_two_bodies(request: Request, a: PaymentCreate, b: PaymentCreate) -> JsonResponse:
        return JsonResponse({})

    cases: list[tuple[Callable[..., Any], str]] = [
        (with_query, "query parameters"),
        (with_optional_header, "a header other than a required str with an explicit alias"),
        (without_request, "no `request: Request` parameter"),
        (with_two_bodies, "a body other than one JSON model, not embedded"),
    ]
    for endpoint, refusal in cases:
        with pytest.raises(
            TypeError, match="DirectRoute /x: cannot answer .*" + refusal.replace("`", ".")
        ):
            _route(endpoint)


def test_a_route_of_its_shape_is_taken() -> None:
    async def fits(
        request: Request, body: PaymentCreate, key: str = Header(alias="K")
    ) -> JsonResponse:
        return JsonResponse({})

    _route(fits)
