"""The built web app in headless Chromium, behind the CloudFront stand-in, with the real API
and PostgreSQL: the payments calls need a pasted API key (none without, the API's 401 shown for
a key it does not know), a payment created through the form with the key is listed and stored
for the key's client, and the key is kept in the page's memory only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from support import E2E_CLIENT, assert_key_kept_in_memory_only

from payments_infra.components.frontend.web_headers import SECURITY_HEADERS

UNAUTHORIZED_TEXT = "API key missing, wrong or revoked"
# Well-formed (`pay_<12 hex>_<43 urlsafe base64>`) but made by nobody: the API answers 401.
UNKNOWN_KEY = "pay_000000000000_" + "A" * 43


def _fill_payment(page: Page, reference: str) -> None:
    page.get_by_label("Amount (minor units)").fill("1234")
    page.get_by_label("Currency").fill("USD")
    page.get_by_label("Merchant reference").fill(reference)


def test_a_payment_created_in_the_form_with_an_api_key_is_listed_and_stored(
    *, browser: Browser, site_url: str, database: Any, api: Any, api_key: str, artifacts: Path
) -> None:
    reference = f"e2e-{uuid.uuid4().hex[:12]}"
    page = browser.new_page()
    console: list[ConsoleMessage] = []
    requests: list[Request] = []
    responses: list[Response] = []
    # A bound builtin cannot take playwright's wrapper attribute: keep the lambdas.
    page.on("console", lambda message: console.append(message))  # noqa: PLW0108
    page.on("request", lambda request: requests.append(request))  # noqa: PLW0108
    page.on("response", lambda response: responses.append(response))  # noqa: PLW0108
    form = page.get_by_role("region", name="Create a test payment")
    payments = page.get_by_role("region", name="Recent payments")
    key_field = page.get_by_label("API key", exact=True)

    page.goto(site_url)
    expect(page.get_by_test_id("api-readiness")).to_have_text("ready")
    expect(page.get_by_text("0.1.0")).to_be_visible()
    expect(key_field).to_have_attribute("type", "password")

    # No key: the page says one is needed and sends no payments call at all.
    expect(page.get_by_test_id("api-key-state")).to_contain_text("No API key yet")
    expect(payments).to_contain_text("Paste an API key")
    _fill_payment(page, reference)
    page.get_by_role("button", name="Create payment").click()
    expect(form.get_by_role("alert")).to_contain_text("An API key is needed to create payments")
    assert [r.url for r in requests if "/api/payments" in r.url] == []

    # A key the API does not know: its 401, for the list and for the create, is shown as such.
    key_field.fill(UNKNOWN_KEY)
    expect(payments.get_by_role("alert")).to_contain_text(UNAUTHORIZED_TEXT)
    page.get_by_role("button", name="Create payment").click()
    expect(form.get_by_role("alert")).to_contain_text(UNAUTHORIZED_TEXT)
    refused = {(r.request.method, r.status) for r in responses if "/api/payments" in r.url}
    assert refused == {("GET", 401), ("POST", 401)}, refused

    # The operator's key: the payment is created, listed, and stored for the key's client.
    key_field.fill(api_key)
    expect(payments.get_by_role("alert")).to_have_count(0)
    page.get_by_role("button", name="Create payment").click()
    expect(form.get_by_role("status")).to_contain_text("Created payment")
    row = page.get_by_test_id("payment-row").filter(has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("$12.34")
    page.screenshot(path=str(artifacts / "status-page.png"), full_page=True)

    with psycopg.connect(database.master.conninfo()) as connection:
        stored = connection.execute(
            "SELECT amount_minor, currency, client_id FROM payments WHERE merchant_reference = %s",
            (reference,),
        ).fetchall()
    assert stored == [(1234, "USD", E2E_CLIENT)]

    # The key went out as a Bearer token on the payments calls only, never in a URL...
    sent = [
        (r.method, r.url.removeprefix(site_url).split("?")[0], r.headers.get("authorization"))
        for r in requests
        if "/api/" in r.url
    ]
    assert ("POST", "/api/payments", f"Bearer {api_key}") in sent, sent
    assert ("GET", "/api/payments", f"Bearer {api_key}") in sent, sent
    assert {auth for _, path, auth in sent if not path.startswith("/api/payments")} == {None}, sent
    assert not any(api_key in r.url for r in requests), [r.url for r in requests]
    # ...and stayed in the page's memory: no web storage, cookie, URL, history or markup has it.
    state = assert_key_kept_in_memory_only(page, api_key)
    assert state["url"] == f"{site_url}/", state
    # Nor did the API log it.
    assert api_key not in api.output()

    violations = [m.text for m in console if "Content Security Policy" in m.text]
    assert violations == [], violations
    page.close()


def test_the_api_refuses_payments_calls_without_a_key_through_the_edge(site_url: str) -> None:
    # What the page's "no key" state stands for: through the CloudFront stand-in the API answers
    # 401 with a Bearer challenge to a payments call without a key, while health stays open.
    for method, body in (("GET", None), ("POST", b"{}")):
        request = urllib.request.Request(f"{site_url}/api/payments", data=body, method=method)
        try:
            urllib.request.urlopen(request)
        except urllib.error.HTTPError as error:
            assert error.code == 401, method
            assert error.headers["WWW-Authenticate"].startswith("Bearer"), method
            assert json.loads(error.read()) == {"detail": "a valid API key is required"}
        else:
            raise AssertionError(f"{method} /api/payments without a key was not refused")
    with urllib.request.urlopen(f"{site_url}/api/healthz") as response:
        assert response.status == 200


def test_the_page_is_served_with_the_production_security_headers(site_url: str) -> None:
    # The browser test above only proves the CSP holds if the page really carried it.
    with urllib.request.urlopen(site_url) as response:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
