"""The built web app in headless Chromium behind a certificate mode 3 distribution (no /api/*
behaviour: CloudFront cannot verify the ALB's self-signed certificate). The distribution's own
CloudFront Function answers /api with its JSON error, never the page, and the page says plainly
that this deployment does not route the API and what to do."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Response, expect

from payments_infra.components.frontend.frontend import API_NOT_ROUTED_BODY, API_NOT_ROUTED_CODE


def test_the_page_says_this_deployment_does_not_route_the_api(
    *, browser: Browser, mode3_site_url: str, artifacts: Path
) -> None:
    page = browser.new_page()
    console: list[ConsoleMessage] = []
    responses: list[Response] = []
    # A bound builtin cannot take playwright's wrapper attribute: keep the lambdas.
    page.on("console", lambda message: console.append(message))  # noqa: PLW0108
    page.on("response", lambda response: responses.append(response))  # noqa: PLW0108

    page.goto(mode3_site_url)
    alert = page.get_by_test_id("api-not-routed")
    expect(alert).to_contain_text(
        "This deployment does not route the API through CloudFront (certificate mode 3"
    )
    expect(alert).to_contain_text("deploy with certificate mode 1")
    expect(page.get_by_test_id("api-health")).to_have_text(
        "unreachable: not routed through CloudFront"
    )
    expect(page.get_by_test_id("api-readiness")).to_have_text(
        "unavailable: not routed through CloudFront"
    )
    page.screenshot(path=str(artifacts / "status-page-mode3.png"), full_page=True)

    # What the browser was given for the API's health: the function's JSON error, not the page.
    (health,) = [r for r in responses if r.url == f"{mode3_site_url}/api/healthz"]
    assert health.status == 404
    assert health.headers["content-type"] == "application/json"
    assert json.loads(health.body())["code"] == API_NOT_ROUTED_CODE

    violations = [m.text for m in console if "Content Security Policy" in m.text]
    assert violations == [], violations
    page.close()


def test_api_paths_get_the_error_and_app_routes_the_page(mode3_site_url: str) -> None:
    for path in ("/api", "/api/", "/api/healthz", "/api/payments"):
        try:
            urllib.request.urlopen(f"{mode3_site_url}{path}")
        except urllib.error.HTTPError as error:
            assert error.code == 404, path
            assert error.headers["Content-Type"] == "application/json", path
            assert error.headers["Cache-Control"] == "no-store", path
            assert json.loads(error.read()) == API_NOT_ROUTED_BODY, path
        else:
            raise AssertionError(f"{path} was answered with a success")
    with urllib.request.urlopen(f"{mode3_site_url}/") as root:
        page = root.read()
    for path in ("/apiary", "/payments"):
        with urllib.request.urlopen(f"{mode3_site_url}{path}") as response:
            assert response.headers["Content-Type"].startswith("text/html"), path
            assert response.read() == page, path
