"""Preflight: each missing piece of a deploy is one sentence that says what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from payments_infra import preflight


def sts_stub() -> tuple[Any, Stubber]:
    client = boto3.client(
        "sts", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client, Stubber(client)


class Raising:
    """An STS client whose call fails before AWS answers."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_caller_identity(self) -> dict[str, str]:
        raise self.error


def completed(code: int, out: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, "")


def test_accepted_credentials_pass_and_name_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = sts_stub()
    stub.add_response(
        "get_caller_identity",
        {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ci", "UserId": "AID"},
    )
    with stub:
        assert preflight.aws_problems(client) == []
    assert (
        "AWS account 123456789012 as arn:aws:iam::123456789012:user/ci" in capsys.readouterr().out
    )


def test_rejected_credentials_say_aws_refused_them() -> None:
    client, stub = sts_stub()
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", http_status_code=403)
    with stub:
        assert preflight.aws_problems(client) == [
            "AWS refused the credentials (InvalidClientTokenId): renew them or set others, "
            "then run again"
        ]


def test_no_network_says_aws_cannot_be_reached_not_that_credentials_are_missing() -> None:
    error = EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/")
    [problem] = preflight.aws_problems(Raising(error))
    assert problem.startswith("cannot reach AWS (STS in us-east-1): check the network")
    assert "credentials were not checked" in problem


def test_no_credentials_say_how_to_set_them() -> None:
    [problem] = preflight.aws_problems(Raising(NoCredentialsError()))
    assert problem.startswith("no usable AWS credentials: set AWS_PROFILE")


def test_missing_stack_file_stops_before_any_other_check(tmp_path: Path) -> None:
    assert preflight.problems("prod", "up", root=tmp_path) == [
        "Pulumi.prod.yaml does not exist: copy Pulumi.dev.yaml to Pulumi.prod.yaml and set "
        "payments:environmentSuffix"
    ]


def test_empty_stack_name_is_one_sentence(tmp_path: Path) -> None:
    [problem] = preflight.problems("", "up", root=tmp_path)
    assert problem.startswith("STACK must be a stack name such as dev")


@pytest.mark.parametrize(
    ("environ", "document", "wanted"),
    [
        ({"PULUMI_BACKEND_URL": "file:///repo/.pulumi-state"}, {}, 1),
        ({"PULUMI_BACKEND_URL": "file:///s", "PULUMI_CONFIG_PASSPHRASE": ""}, {}, 0),
        ({"PULUMI_BACKEND_URL": "file:///s", "PULUMI_CONFIG_PASSPHRASE_FILE": "/p"}, {}, 0),
        ({"PULUMI_BACKEND_URL": "s3://state-bucket"}, {}, 0),
        ({"PULUMI_BACKEND_URL": "file:///s"}, {"secretsprovider": "awskms://alias/pulumi"}, 0),
    ],
)
def test_file_backend_needs_a_passphrase(
    environ: dict[str, str], document: dict[str, Any], wanted: int
) -> None:
    found = preflight.passphrase_problems(document, environ)
    assert len(found) == wanted
    if found:
        assert found[0].startswith("PULUMI_CONFIG_PASSPHRASE is not set")


def test_docker_is_not_needed_with_a_prebuilt_image() -> None:
    document = {"config": {"payments:apiImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1"}}
    assert preflight.docker_problems(document, which=lambda _: None) == []


def test_docker_missing_without_a_prebuilt_image() -> None:
    [problem] = preflight.docker_problems({"config": {}}, which=lambda _: None)
    assert problem.startswith("docker is not on PATH, and payments:apiImage is not set")


def test_docker_daemon_down_without_a_prebuilt_image() -> None:
    [problem] = preflight.docker_problems(
        {"config": {}}, which=lambda _: "/usr/bin/docker", run=lambda _: completed(1)
    )
    assert problem.startswith("the Docker daemon is not answering")
    assert (
        preflight.docker_problems(
            {"config": {}}, which=lambda _: "/usr/bin/docker", run=lambda _: completed(0, "28.2.2")
        )
        == []
    )


@pytest.mark.parametrize(
    ("path", "version", "wanted"),
    [
        (None, "", "the Pulumi CLI is not on PATH"),
        ("/bin/pulumi", "v2.25.2", "the Pulumi CLI must be version 3.x; got v2.25.2"),
        ("/bin/pulumi", "v3.200.0", None),
    ],
)
def test_pulumi_cli(path: str | None, version: str, wanted: str | None) -> None:
    found = preflight.pulumi_cli_problems(
        which=lambda _: path, run=lambda _: completed(0, version + "\n")
    )
    if wanted is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(wanted)
