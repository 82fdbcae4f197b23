"""The built web app in headless Chromium, behind the CloudFront stand-in, with the real API
and PostgreSQL: create a payment through the form and see it listed."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg
from playwright.sync_api import Browser, ConsoleMessage, expect

from payments_infra.aws.web_headers import SECURITY_HEADERS


def test_a_payment_created_in_the_form_is_listed_and_stored(
    browser: Browser, site_url: str, database: Any, artifacts: Path
) -> None:
    reference = f"e2e-{uuid.uuid4().hex[:12]}"
    page = browser.new_page()
    console: list[ConsoleMessage] = []
    # A bound builtin cannot take playwright's wrapper attribute: keep the lambda.
    page.on("console", lambda message: console.append(message))  # noqa: PLW0108

    page.goto(site_url)
    expect(page.get_by_test_id("api-readiness")).to_have_text("ready")
    expect(page.get_by_text("0.1.0")).to_be_visible()

    page.get_by_label("Amount (minor units)").fill("1234")
    page.get_by_label("Currency").fill("USD")
    page.get_by_label("Merchant reference").fill(reference)
    page.get_by_role("button", name="Create payment").click()

    row = page.get_by_test_id("payment-row").filter(has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("$12.34")
    page.screenshot(path=str(artifacts / "status-page.png"), full_page=True)

    with psycopg.connect(database.conninfo()) as connection:
        stored = connection.execute(
            "SELECT amount_minor, currency FROM payments WHERE merchant_reference = %s",
            (reference,),
        ).fetchall()
    assert stored == [(1234, "USD")]
    violations = [m.text for m in console if "Content Security Policy" in m.text]
    assert violations == [], violations


def test_the_page_is_served_with_the_production_security_headers(site_url: str) -> None:
    # The browser test above only proves the CSP holds if the page really carried it.
    with urllib.request.urlopen(site_url) as response:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
