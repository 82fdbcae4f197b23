"""Shared fixtures: the real program, recorded once per test session under mocks."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable

import pytest

from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.stacks import DNS, EXISTING, TEST_STACKS, VALID_CONFIG


@pytest.fixture(scope="session")
def recorded_graph() -> Graph:
    """The program's graph for VALID_CONFIG. Session-wide: never mutate it, use ``graph``."""
    return record_program(VALID_CONFIG, stack="test")


@pytest.fixture(scope="session")
def dns_graph() -> Graph:
    """The program in certificate mode 1 (DNS-validated). Never mutate it."""
    return record_program({**VALID_CONFIG, **DNS}, stack="test")


@pytest.fixture(scope="session")
def existing_graph() -> Graph:
    """The program in certificate mode 2 (existing certificates). Never mutate it."""
    return record_program({**VALID_CONFIG, **EXISTING}, stack="test")


@pytest.fixture(scope="session")
def stack_graphs() -> Callable[[str], Graph]:
    """The graph of a stack of ``TEST_STACKS`` by name, recorded once per session. Never
    mutate what it returns."""
    recorded: dict[str, Graph] = {}

    def graph_of(name: str) -> Graph:
        if name not in recorded:
            recorded[name] = record_program(TEST_STACKS[name], stack="test")
        return recorded[name]

    return graph_of


@pytest.fixture
def graph(recorded_graph: Graph) -> Graph:
    """A private copy of the recorded graph, which a test may break on purpose."""
    return copy.deepcopy(recorded_graph)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skip reason (the 49 live tests share one), instead of one per test."""
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count} skipped: {reason}")
