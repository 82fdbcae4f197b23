"""Shared fixtures: the real program, recorded once per test session under mocks."""

from __future__ import annotations

import copy

import pytest

from payments_infra.recording import Graph, record_program

SUFFIX = "test1"
# A small built web app, so the tests do not depend on `npm run build`.
WEB_DIST = "tests/fixtures/web_dist"
VALID_CONFIG = {
    "payments:environmentSuffix": SUFFIX,
    "aws:region": "us-east-1",
    "payments:webDistDir": WEB_DIST,
}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


@pytest.fixture(scope="session")
def recorded_graph() -> Graph:
    """The program's graph for VALID_CONFIG. Session-wide: never mutate it, use ``graph``."""
    return record_program(VALID_CONFIG, stack="test")


@pytest.fixture
def graph(recorded_graph: Graph) -> Graph:
    """A private copy of the recorded graph, which a test may break on purpose."""
    return copy.deepcopy(recorded_graph)
