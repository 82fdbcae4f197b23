"""Fixtures that several unit test files share; the recorded program's are in tests/conftest.py."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from payments_infra.offline import operator_policies as op
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.aws_stubs import stubbed
from tests.git_repo import git
from tests.operator_policy_queries import operator_stack
from tests.stacks import CERT_ARN, DNS, VALID_CONFIG

# keep_data's clients (test_keep_data.py, test_keep_data_refusals.py).


@pytest.fixture
def rds() -> Iterator[tuple[Any, Stubber]]:
    """An RDS client that reaches no AWS, and its Stubber, active for the test."""
    made, stub = stubbed("rds")
    with stub:
        yield made, stub


@pytest.fixture
def kms() -> Iterator[tuple[Any, Stubber]]:
    """A KMS client that reaches no AWS, and its Stubber, active for the test."""
    made, stub = stubbed("kms")
    with stub:
        yield made, stub


# The operators' policies of the recorded program (test_operator_policies*.py).


@pytest.fixture(scope="module")
def policies(recorded_graph: Graph) -> dict[str, op.Policy]:
    """File name -> policy, for the recorded program: written once per test file, whose tests
    only read them."""
    return op.policies(operator_stack(recorded_graph))


# A repository to commit in (test_image_commit.py, test_release.py).


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding an app/api with each image input, committed, and one more file."""
    api = tmp_path / "app" / "api"
    (api / "payments_api").mkdir(parents=True)
    (api / "certs").mkdir()
    (api / "tests").mkdir()
    (api / "Dockerfile").write_text("FROM scratch\n")
    (api / "requirements.txt").write_text("fastapi==1\n")
    (api / "payments_api" / "main.py").write_text("app = 1\n")
    (api / "certs" / "ca.pem").write_text("ca\n")
    (api / "tests" / "test_x.py").write_text("x = 1\n")
    (tmp_path / "README.md").write_text("readme\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    return tmp_path


# The edge in each certificate mode and ingress (test_edge_guardrails.py, test_edge_listener.py,
# test_edge_cloudfront_tls.py).

# Certificate mode 2 with an /api origin but no certificate of CloudFront's own.
EXISTING_WITHOUT_CLOUDFRONT_CERTIFICATE = {
    "payments:certificateArn": CERT_ARN,
    "payments:apiDomainName": "api.pay.example.com",
}


@pytest.fixture(scope="module")
def cloudfront_only_graph() -> Graph:
    """Mode 1 with ``albIngress: cloudfront``: the ALB admits CloudFront's prefix list only."""
    return record_program(
        {**VALID_CONFIG, **DNS, "payments:albIngress": "cloudfront"}, stack="test"
    )


@pytest.fixture(scope="module")
def no_cloudfront_certificate_graph() -> Graph:
    return record_program({**VALID_CONFIG, **EXISTING_WITHOUT_CLOUDFRONT_CERTIFICATE}, stack="test")


MODES = {
    "self-signed": "recorded_graph",
    "dns": "dns_graph",
    "existing": "existing_graph",
    "cloudfront-only": "cloudfront_only_graph",
    "existing-no-cf": "no_cloudfront_certificate_graph",
}


@pytest.fixture(params=sorted(MODES))
def any_graph(request: pytest.FixtureRequest) -> Graph:
    """Each certificate mode and ingress, as a private copy a test may break."""
    recorded: Graph = request.getfixturevalue(MODES[request.param])
    return copy.deepcopy(recorded)
