"""AWS for a deploy (aws_access.py): reachable, then credentials accepted, each failure its own
sentence."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError

from payments_infra.offline import aws_access
from tests.aws_stubs import stubbed


class Raising:
    """An STS client whose call fails before AWS answers."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_caller_identity(self) -> dict[str, str]:
        raise self.error


def test_accepted_credentials_pass_and_name_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = stubbed("sts")
    stub.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ci", "UserId": "AID"},
    )
    with stub:
        assert aws_access.aws_problems(client) == []
    assert (
        "AWS account 123456789012 as arn:aws:iam::123456789012:user/ci" in capsys.readouterr().out
    )


def test_rejected_credentials_say_aws_refused_them() -> None:
    client, stub = stubbed("sts")
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", http_status_code=403)
    with stub:
        assert aws_access.aws_problems(client) == [
            "AWS refused the credentials (InvalidClientTokenId): renew them or set others, "
            "then run again"
        ]


def test_no_network_says_aws_cannot_be_reached_not_that_credentials_are_missing() -> None:
    error = EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/")
    [problem] = aws_access.aws_problems(Raising(error))
    assert problem.startswith("cannot reach AWS (STS in us-east-1): check the network")
    assert "credentials were not checked" in problem


def test_no_credentials_say_how_to_set_them() -> None:
    [problem] = aws_access.aws_problems(Raising(NoCredentialsError()))
    assert problem.startswith("no usable AWS credentials: set AWS_PROFILE")
