"""The account guard (payments:accountId): the provider refuses other accounts' credentials,
and preflight says so first."""

from __future__ import annotations

import json
from typing import Any

import pytest

from payments_infra.config.errors import ConfigError
from payments_infra.offline import aws_access
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from tests.aws_stubs import stubbed
from tests.stacks import VALID_CONFIG

IDENTITY = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ci", "UserId": "A"}


def provider_inputs(config: dict[str, str]) -> dict[str, Any]:
    graph = record_program(config, stack="test")
    (provider,) = [r for r in graph if r.type == "pulumi:providers:aws"]
    return provider.inputs


def test_the_provider_allows_only_the_configured_account() -> None:
    inputs = provider_inputs({**VALID_CONFIG, "payments:accountId": "210987654321"})
    # Provider inputs travel as JSON strings.
    assert json.loads(inputs["allowedAccountIds"]) == ["210987654321"]
    assert "allowedAccountIds" not in provider_inputs(VALID_CONFIG)  # unset: any account


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "acct-123456789012"])
def test_an_account_id_that_is_not_12_digits_is_refused_before_any_resource(value: str) -> None:
    monitor = RecordingMonitor(PlaceholderMocks())
    with pytest.raises(ConfigError) as raised:
        record_program({**VALID_CONFIG, "payments:accountId": value}, monitor=monitor)
    assert monitor.recorded == []
    assert raised.value.problems[0].startswith("payments:accountId must be the 12 digits")


def test_preflight_refuses_credentials_of_another_account() -> None:
    client, stub = stubbed("sts")
    stub.add_response("get_caller_identity", IDENTITY)
    stub.add_response("get_caller_identity", IDENTITY)
    with stub:
        [problem] = aws_access.aws_problems(client, "210987654321")
        assert aws_access.aws_problems(client, "123456789012") == []
    assert problem == (
        "these credentials are for AWS account 123456789012, but the stack may deploy only "
        "into 210987654321 (payments:accountId): use that account's credentials "
        "(AWS_PROFILE), or fix the setting if the stack really moved"
    )
