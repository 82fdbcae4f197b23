"""The deployed API over the network: verified HTTPS only, and a payment round trip.

TLS is always verified: against exactly the exported self-signed certificate in certificate
mode ``self-signed``, against the system trust store otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.live_helpers import (
    Endpoint,
    HttpResponse,
    api_origin_domain,
    https_request,
    live_payment_reference,
    tcp_connect_outcomes,
    tls_context,
)

PLAIN_HTTP_TIMEOUT_SECONDS = 5.0
PAYMENT_FIELDS = ("id", "amount_minor", "currency", "merchant_reference", "status", "created_at")


@pytest.fixture(scope="module")
def payments_endpoint(
    request: pytest.FixtureRequest, stack_outputs: dict[str, Any], distribution: dict[str, Any]
) -> Endpoint:
    """Through CloudFront's ``/api/*`` where the certificate allows it (modes dns and
    existing with an API name), else the API directly."""
    mode = stack_outputs["certificate_mode"]
    wired = api_origin_domain(distribution["DistributionConfig"]) is not None
    if mode in ("dns", "existing") and wired:
        return Endpoint(stack_outputs["site_url"], tls_context(), "site_url, CloudFront /api/*")
    if mode == "dns":
        pytest.fail("certificate mode dns, but the distribution has no /api/* behaviour")
    endpoint: Endpoint = request.getfixturevalue("api_endpoint")
    return endpoint


@pytest.fixture(scope="module")
def created_payment(
    payments_endpoint: Endpoint, api_key_headers: dict[str, str]
) -> tuple[dict[str, Any], HttpResponse]:
    """One fresh payment: the body sent and the API's answer."""
    key = uuid.uuid4()
    sent = {
        "amount_minor": 100,
        "currency": "USD",
        "merchant_reference": live_payment_reference(key),
    }
    response = https_request(
        "POST",
        payments_endpoint.url("/api/payments"),
        context=payments_endpoint.context,
        headers={**api_key_headers, "Idempotency-Key": str(key)},
        json_body=sent,
    )
    return sent, response


def test_api_answers_healthz_over_verified_https(api_endpoint: Endpoint) -> None:
    response = https_request("GET", api_endpoint.url("/healthz"), context=api_endpoint.context)
    assert response.status == 200, f"{api_endpoint.why}: {response.describe()}"
    assert (response.header("Content-Type") or "").startswith("application/json"), (
        response.describe()
    )
    assert response.json().get("status") == "ok", response.describe()


def test_alb_does_not_accept_plain_http_on_port_80(stack_outputs: dict[str, Any]) -> None:
    outcomes = tcp_connect_outcomes(
        stack_outputs["alb_dns_name"], 80, timeout=PLAIN_HTTP_TIMEOUT_SECONDS
    )
    assert outcomes, f"{stack_outputs['alb_dns_name']} resolves to no IPv4 address"
    answered = {a: o for a, o in outcomes.items() if o not in ("refused", "timed out")}
    assert not answered, (
        f"port 80 should be closed (no listener, no rule): connection refused or timed out "
        f"within {PLAIN_HTTP_TIMEOUT_SECONDS:.0f} s; got {outcomes}"
    )


def test_post_payment_creates_it(
    created_payment: tuple[dict[str, Any], HttpResponse], payments_endpoint: Endpoint
) -> None:
    sent, response = created_payment
    assert response.status == 201, f"POST via {payments_endpoint.why}: {response.describe()}"
    body = response.json()
    assert {k: body.get(k) for k in sent} == sent, f"the payment differs from the request: {body}"
    assert body.get("status") == "created", body
    uuid.UUID(body["id"])  # raises ValueError unless the id is a UUID
    assert response.header("Location") == f"/api/payments/{body['id']}", (
        f"Location header is {response.header('Location')!r}"
    )


def test_get_payment_returns_the_created_payment(
    created_payment: tuple[dict[str, Any], HttpResponse],
    payments_endpoint: Endpoint,
    api_key_headers: dict[str, str],
) -> None:
    _, created = created_payment
    assert created.status == 201, f"the payment was not created: {created.describe()}"
    payment = created.json()
    response = https_request(
        "GET",
        payments_endpoint.url(f"/api/payments/{payment['id']}"),
        context=payments_endpoint.context,
        headers=api_key_headers,
    )
    assert response.status == 200, f"GET via {payments_endpoint.why}: {response.describe()}"
    fetched = response.json()
    differing = {
        field: (payment.get(field), fetched.get(field))
        for field in PAYMENT_FIELDS
        if payment.get(field) != fetched.get(field)
    }
    assert not differing, f"fields (created, fetched) that differ: {differing}"


def test_payments_need_an_api_key(payments_endpoint: Endpoint) -> None:
    response = https_request(
        "GET", payments_endpoint.url("/api/payments"), context=payments_endpoint.context
    )
    assert response.status == 401, f"GET via {payments_endpoint.why}: {response.describe()}"
    assert (response.header("WWW-Authenticate") or "").startswith("Bearer"), response.describe()
