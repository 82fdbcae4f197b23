"""Live tests: they read a deployed stack's outputs and check the real resources with boto3.

Give them the outputs with ``make verify STACK=dev`` (which runs ``pulumi stack output
--json``), or point ``PAYMENTS_STACK_OUTPUTS`` at such a JSON file. Without one, every live
test is skipped with that reason; nothing is faked. The load step (test_live_load.py) also
needs ``PAYMENTS_LIVE_LOAD=1``: it drives the API for up to 10 minutes. The tests that create
and read payments need an API key of the deployed API in ``PAYMENTS_API_KEY`` (made with the
key CLI as docs/deploy.md describes); without one they are skipped with that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration import live_helpers

OUTPUTS_VARIABLE = "PAYMENTS_STACK_OUTPUTS"
LOAD_VARIABLE = "PAYMENTS_LIVE_LOAD"
API_KEY_VARIABLE = "PAYMENTS_API_KEY"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"load: drives load at the deployed API; runs only with {LOAD_VARIABLE}=1"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def stack_outputs() -> dict[str, Any]:
    path = os.environ.get(OUTPUTS_VARIABLE)
    if not path:
        pytest.skip(
            f"no deployed stack: set {OUTPUTS_VARIABLE} to `pulumi stack output --json` "
            "of a deployed stack, or run make verify STACK=<stack>"
        )
    return dict(json.loads(Path(path).read_text()))


@pytest.fixture(scope="session")
def api_key_headers(environment_suffix: str) -> dict[str, str]:
    """`Authorization: Bearer` with the deployed API's key from PAYMENTS_API_KEY. Without
    one the payment tests are skipped, except on a production (protected) stack: there an
    unverified payments path is a failed verification, not a skipped one."""
    from payments_infra import REPO_ROOT  # noqa: PLC0415

    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        protected = live_helpers.stack_protects_data(REPO_ROOT, environment_suffix)
        outcome, reason = live_helpers.missing_api_key(protected)
        if outcome == "fail":
            pytest.fail(reason)
        pytest.skip(reason)
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def ec2(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415 (only live tests need AWS)

    return boto3.client("ec2", region_name="us-east-1")


@pytest.fixture(scope="session")
def logs(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("logs", region_name="us-east-1")


@pytest.fixture(scope="session")
def rds(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("rds", region_name="us-east-1")


@pytest.fixture(scope="session")
def secretsmanager(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture(scope="session")
def ecs(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("ecs", region_name="us-east-1")


@pytest.fixture(scope="session")
def elbv2(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("elbv2", region_name="us-east-1")


@pytest.fixture(scope="session")
def appautoscaling(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("application-autoscaling", region_name="us-east-1")


@pytest.fixture(scope="session")
def cloudwatch(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture(scope="session")
def cloudfront(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("cloudfront", region_name="us-east-1")


@pytest.fixture(scope="session")
def wafv2(stack_outputs: dict[str, Any]) -> Any:
    import boto3  # noqa: PLC0415 (CLOUDFRONT-scope web ACLs live in us-east-1)

    return boto3.client("wafv2", region_name="us-east-1")


@pytest.fixture(scope="session")
def environment_suffix(stack_outputs: dict[str, Any]) -> str:
    return live_helpers.environment_suffix(stack_outputs["ecs_cluster_name"])


@pytest.fixture(scope="session")
def protect_data(environment_suffix: str) -> bool:
    """payments:protectData of the deployed stack, from its stack file (found by suffix)."""
    from payments_infra import REPO_ROOT  # noqa: PLC0415

    protected = live_helpers.stack_protects_data(REPO_ROOT, environment_suffix)
    if protected is None:
        pytest.skip(
            f"cannot tell whether the stack is protected: no single Pulumi.<stack>.yaml here has "
            f"payments:environmentSuffix {environment_suffix} and a true or false "
            "payments:protectData"
        )
    return protected


@pytest.fixture(scope="session")
def ecs_service(ecs: Any, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """The API service as ECS describes it at the start of the session."""
    answer = ecs.describe_services(
        cluster=stack_outputs["ecs_cluster_name"], services=[stack_outputs["ecs_service_name"]]
    )
    assert not answer["failures"], f"ECS cannot describe the service: {answer['failures']}"
    (service,) = answer["services"]
    return dict(service)


@pytest.fixture(scope="session")
def load_balancer(elbv2: Any, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """The ALB whose DNS name is the stack's ``alb_dns_name``."""
    dns_name = stack_outputs["alb_dns_name"].lower()
    pages = elbv2.get_paginator("describe_load_balancers").paginate()
    found = [
        lb for page in pages for lb in page["LoadBalancers"] if lb["DNSName"].lower() == dns_name
    ]
    assert len(found) == 1, f"expected one load balancer named {dns_name}, found {len(found)}"
    return dict(found[0])


@pytest.fixture(scope="session")
def distribution(cloudfront: Any, stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """The CloudFront distribution, with its DistributionConfig."""
    return dict(cloudfront.get_distribution(Id=stack_outputs["distribution_id"])["Distribution"])


@pytest.fixture(scope="session")
def api_endpoint(
    stack_outputs: dict[str, Any],
    ec2: Any,
    load_balancer: dict[str, Any],
    distribution: dict[str, Any],
) -> live_helpers.Endpoint:
    """The API reached directly (not through CloudFront), with a context that verifies it.

    Self-signed mode: ``api_url`` (the ALB's name), trusting exactly ``api_certificate_pem``.
    DNS mode: ``api_url`` (``api.<domain>``), the system trust store. Existing-certificate
    mode: ``api_url`` is the ALB's name, which that certificate cannot cover, so the API is
    reached by the name CloudFront uses for ``/api`` (``payments:apiDomainName``), if any.
    Skips when no verifiable name exists or the ALB admits only CloudFront.
    """
    mode = stack_outputs["certificate_mode"]
    if mode == "self-signed":
        endpoint = live_helpers.Endpoint(
            stack_outputs["api_url"],
            live_helpers.tls_context(stack_outputs["api_certificate_pem"]),
            "api_url, trusting only the stack's self-signed certificate",
        )
    elif mode == "dns":
        endpoint = live_helpers.Endpoint(
            stack_outputs["api_url"], live_helpers.tls_context(), "api_url, system trust store"
        )
    elif mode == "existing":
        name = live_helpers.api_origin_domain(distribution["DistributionConfig"])
        if name is None:
            pytest.skip(
                "certificate mode existing without payments:apiDomainName: api_url is the "
                "ALB's own name, which no certificate covers, and no other name of the API is "
                "known here, so its TLS cannot be verified"
            )
        endpoint = live_helpers.Endpoint(
            f"https://{name}", live_helpers.tls_context(), "apiDomainName, system trust store"
        )
    else:
        pytest.fail(f"unknown certificate_mode {mode!r}")
    groups = ec2.describe_security_groups(GroupIds=load_balancer["SecurityGroups"])
    permissions = [p for g in groups["SecurityGroups"] for p in g["IpPermissions"]]
    if not live_helpers.admits_https_from_anywhere(permissions):
        pytest.skip(
            "the ALB admits HTTPS only from CloudFront (payments:albIngress: cloudfront), so "
            "the API cannot be reached directly from here"
        )
    return endpoint


@pytest.fixture(scope="session")
def load_opt_in(stack_outputs: dict[str, Any]) -> None:
    """Skip unless the load step was asked for (it costs money and takes minutes)."""
    if os.environ.get(LOAD_VARIABLE) != "1":
        pytest.skip(
            f"load step is opt-in: set {LOAD_VARIABLE}=1 to drive the API for up to "
            "10 minutes and check that ECS scales out"
        )
