"""The CloudFront Function on the default behaviour, run: its JavaScript, as the recorded program
sends it to CloudFront, executed by Node in a bare context (no require, no process) with the
viewer-request event CloudFront passes. App routes get the page, files are left alone, and /api
never gets the page: in certificate mode 3 (no /api/* behaviour) it gets the error that says why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from payments_infra.components.frontend.frontend import (
    API_NOT_FOUND_BODY,
    API_NOT_ROUTED_BODY,
    API_NOT_ROUTED_CODE,
)
from payments_infra.offline.graph import Graph, revealed
from tests.graph_queries import only

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
FUNCTION = "aws:cloudfront/function:Function"
API_PATHS = ["/api", "/api/", "/api/payments", "/api/healthz", "/api/payments/pay_0001"]
APP_ROUTES = ["/", "/payments", "/apiary", "/api-docs", "/apis/x", "/settings/keys"]
FILES = ["/index.html", "/favicon.svg", "/assets/index-3f2a1b9c.js", "/assets/index-9c8d7e6f.css"]

# Runs the function's source in a fresh V8 context holding only `event`, like CloudFront's
# runtime (no Node globals), once per event; prints what the handler returned for each.
HARNESS = """
const vm = require('vm');
const [code, events] = process.argv.slice(1);
const results = JSON.parse(events).map((event) =>
  vm.runInNewContext(code + '\\n;handler(event);', { event: event }, { timeout: 1000 }));
process.stdout.write(JSON.stringify(results));
"""


def viewer_request(uri: str, method: str = "GET") -> dict[str, Any]:
    """The event CloudFront passes a viewer-request function (CloudFront developer guide,
    "CloudFront Functions event structure")."""
    return {
        "version": "1.0",
        "context": {"distributionId": "EDFDVBD6EXAMPLE", "eventType": "viewer-request"},
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": {},
            "headers": {
                "host": {"value": "d111111abcdef8.cloudfront.net"},
                "accept": {"value": "application/json"},
            },
            "cookies": {},
        },
    }


def run_function(code: str, uris: list[str]) -> dict[str, dict[str, Any]]:
    """What the function returns for a GET of each URI: the request to go on with, or a
    response. GET only: the default behaviour allows GET, HEAD and OPTIONS."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("no node on PATH: install Node.js 20.19+ (make plan and make test need it)")
    events = json.dumps([viewer_request(uri) for uri in uris])
    done = subprocess.run(
        [node, "-e", HARNESS, code, events],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(uris, json.loads(done.stdout), strict=True))


def function_code(graph: Graph) -> str:
    """The code of the function the distribution's default behaviour runs on viewer requests."""
    function = only(graph, FUNCTION)
    cdn = revealed(only(graph, DISTRIBUTION).inputs)
    (association,) = cdn["defaultCacheBehavior"]["functionAssociations"]
    assert association == {"eventType": "viewer-request", "functionArn": function.outputs["arn"]}
    assert function.inputs["runtime"] == "cloudfront-js-2.0"
    code: str = function.inputs["code"]
    return code


def api_behaviours(graph: Graph) -> list[dict[str, Any]]:
    cdn = revealed(only(graph, DISTRIBUTION).inputs)
    return [b for b in cdn.get("orderedCacheBehaviors") or [] if b["pathPattern"] == "/api/*"]


def assert_json_404(answer: dict[str, Any], body: dict[str, str]) -> None:
    """A response generated at the edge: 404, JSON, never stored, the given body."""
    assert answer["statusCode"] == 404, answer
    assert answer["statusDescription"] == "Not Found"
    assert answer["headers"] == {
        "content-type": {"value": "application/json"},
        "cache-control": {"value": "no-store"},
        "x-content-type-options": {"value": "nosniff"},
    }
    assert answer["body"]["encoding"] == "text"
    assert json.loads(answer["body"]["data"]) == body
    assert "uri" not in answer  # a response, not the request passed on to the bucket


def test_self_signed_mode_answers_every_api_path_with_the_not_routed_error(graph: Graph) -> None:
    assert api_behaviours(graph) == []  # mode 3: every /api request meets this function
    for uri, answer in run_function(function_code(graph), API_PATHS).items():
        assert_json_404(answer, API_NOT_ROUTED_BODY)
        assert json.loads(answer["body"]["data"])["code"] == API_NOT_ROUTED_CODE, uri
    detail = API_NOT_ROUTED_BODY["detail"]
    assert "certificate mode 3" in detail and "mode 1 or 2" in detail


def test_app_routes_get_the_page_and_files_are_left_alone(graph: Graph) -> None:
    code = function_code(graph)
    answers = run_function(code, APP_ROUTES + FILES)
    for uri in APP_ROUTES:  # /apiary and /api-docs are app routes, not API paths
        assert answers[uri] == {**viewer_request(uri)["request"], "uri": "/index.html"}, uri
    for uri in FILES:
        assert answers[uri] == viewer_request(uri)["request"], uri


@pytest.mark.parametrize("mode", ["dns", "existing"])
def test_with_an_api_behaviour_the_bare_api_path_is_a_plain_json_404(
    mode: str, dns_graph: Graph, existing_graph: Graph
) -> None:
    # /api/* goes to the ALB before any function runs; only the bare /api (which the pattern
    # does not match) meets it, and gets the API's own 404, not the page nor the mode-3 text.
    graph = dns_graph if mode == "dns" else existing_graph
    (behaviour,) = api_behaviours(graph)
    assert behaviour["targetOriginId"] == "api" and not behaviour.get("functionAssociations")
    code = function_code(graph)
    assert API_NOT_ROUTED_CODE not in code
    answers = run_function(code, ["/api", "/payments", "/favicon.svg"])
    assert_json_404(answers["/api"], API_NOT_FOUND_BODY)
    assert answers["/payments"]["uri"] == "/index.html"
    assert answers["/favicon.svg"]["uri"] == "/favicon.svg"


def test_the_function_fits_cloudfronts_size_quota(
    graph: Graph, dns_graph: Graph, existing_graph: Graph
) -> None:
    # CloudFront Functions take at most 10 KB of code.
    for g in (graph, dns_graph, existing_graph):
        assert len(function_code(g).encode()) < 10 * 1024
