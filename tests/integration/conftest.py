"""Live tests: they read a deployed stack's outputs and check the real resources with boto3.

Give them the outputs with ``make verify STACK=dev`` (which runs ``pulumi stack output
--json``), or point ``PAYMENTS_STACK_OUTPUTS`` at such a JSON file. Without one, every live
test is skipped with that reason; nothing is faked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

OUTPUTS_VARIABLE = "PAYMENTS_STACK_OUTPUTS"


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
