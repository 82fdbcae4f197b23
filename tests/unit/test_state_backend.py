"""The state backend: one setting for make and raw commands, and what preflight checks of it
(payments_infra/offline/state_backend.py). AWS is played by botocore's Stubber, the Pulumi
CLI by a runner that answers like `pulumi stack ls --json`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline import state_backend
from payments_infra.offline.bucket_owners import (
    FREE,
    THIS_STACKS,
    bucket_owners,
    taken_bucket_problems,
)
from payments_infra.offline.commands import Runner
from payments_infra.offline.state_backend import Backend, effective_backend
from tests.aws_stubs import stubbed

LOCAL = Backend("file://./.pulumi-state", state_backend.PROJECT_KEY)
SHARED = Backend("s3://team-state/payments?region=us-east-1", state_backend.ENV_KEY)
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_one_backend_setting_serves_make_and_raw_commands_alike() -> None:
    """The Makefile sets no backend of its own: make and `pulumi ...` read Pulumi.yaml."""
    assert state_backend.project_backend_url(REPO_ROOT) == "file://./.pulumi-state"
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "PULUMI_BACKEND_URL ?=" not in makefile
    assert "PULUMI_BACKEND_URL=" not in makefile
    assert ".pulumi-state/" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_the_environment_comes_before_the_project_file_as_in_the_cli(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: payments\nbackend:\n  url: file://./s\n")
    assert effective_backend(tmp_path, {}) == Backend("file://./s", state_backend.PROJECT_KEY)
    assert effective_backend(tmp_path, {"PULUMI_BACKEND_URL": "s3://b"}) == Backend(
        "s3://b", state_backend.ENV_KEY
    )
    (tmp_path / "Pulumi.yaml").write_text("name: payments\n")
    assert effective_backend(tmp_path, {}) is None
    [problem] = state_backend.backend_problems(None)
    assert problem.startswith("no state backend is set")


@pytest.mark.parametrize(
    ("backend", "environ", "document", "wanted"),
    [
        (LOCAL, {}, {}, "PULUMI_CONFIG_PASSPHRASE is not set"),
        (LOCAL, {"PULUMI_CONFIG_PASSPHRASE": ""}, {}, None),
        (LOCAL, {"PULUMI_CONFIG_PASSPHRASE_FILE": "/p"}, {}, None),
        # A shared backend with a passphrase: a team would share it.
        (SHARED, {"PULUMI_CONFIG_PASSPHRASE": "x"}, {}, "the stack's secrets are encrypted"),
        (SHARED, {}, {"secretsprovider": "gcpkms://projects/p/keys/k"}, None),
        (SHARED, {}, {"secretsprovider": "rot13://"}, "Pulumi.prod.yaml names an unknown"),
        (Backend("https://api.pulumi.com", state_backend.ENV_KEY), {}, {}, None),
    ],
)
def test_the_secrets_provider_fits_the_backend(
    backend: Backend, environ: dict[str, str], document: dict[str, Any], wanted: str | None
) -> None:
    found = state_backend.secrets_provider_problems(document, backend, environ, "prod", None)
    assert [p[: len(wanted or "")] for p in found] == ([wanted] if wanted else [])
    if wanted == "the stack's secrets are encrypted":
        assert 'pulumi stack change-secrets-provider --stack prod "awskms://' in found[0]


def test_a_kms_secrets_provider_must_name_an_enabled_key_this_identity_can_use() -> None:
    document = {"secretsprovider": "awskms://alias/pulumi-state?region=us-east-1"}
    kms, stub = stubbed("kms")
    metadata = {"KeyId": KEY, "KeyState": "Enabled", "KeyUsage": "ENCRYPT_DECRYPT"}
    stub.add_response(
        "describe_key", {"KeyMetadata": metadata}, expected_params={"KeyId": "alias/pulumi-state"}
    )
    stub.add_response("describe_key", {"KeyMetadata": {**metadata, "KeyState": "PendingDeletion"}})
    stub.add_client_error("describe_key", "AccessDeniedException", http_status_code=400)
    stub.activate()
    check = state_backend.secrets_provider_problems
    assert check(document, SHARED, {}, "prod", lambda: kms) == []
    [pending] = check(document, SHARED, {}, "prod", lambda: kms)
    assert pending == (
        f"the stack's secrets key {KEY} is PendingDeletion (ENCRYPT_DECRYPT): it must be an "
        "enabled ENCRYPT_DECRYPT key"
    )
    [denied] = check(document, SHARED, {}, "prod", lambda: kms)
    assert "(AccessDeniedException): create it or grant kms:DescribeKey" in denied
    stub.assert_no_pending_responses()
    # Without AWS (unreachable, no credentials) the key is not looked up at all.
    assert check(document, SHARED, {}, "prod", None) == []


def test_an_s3_state_bucket_must_answer_and_keep_versions() -> None:
    s3, stub = stubbed("s3")
    stub.add_response("head_bucket", {}, expected_params={"Bucket": "team-state"})
    stub.add_response("get_bucket_versioning", {"Status": "Enabled"})
    stub.add_response("head_bucket", {})
    stub.add_response("get_bucket_versioning", {})  # never enabled
    stub.add_client_error("head_bucket", "403", http_status_code=403)
    stub.activate()
    assert state_backend.s3_state_problems(SHARED, s3) == []
    [unversioned] = state_backend.s3_state_problems(SHARED, s3)
    assert unversioned.startswith("the state bucket team-state does not keep versions")
    assert "put-bucket-versioning --bucket team-state" in unversioned
    [denied] = state_backend.s3_state_problems(SHARED, s3)
    assert denied.startswith("the state bucket team-state of s3://team-state/payments")
    assert state_backend.s3_state_problems(LOCAL, s3) == []  # not asked at all
    stub.assert_no_pending_responses()


def stack_ls(*names: str, returncode: int = 0) -> Runner:
    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        assert command[1:] == ["stack", "ls", "--json"]
        out = json.dumps([{"name": name, "current": False} for name in names])
        return subprocess.CompletedProcess(command, returncode, out, "")

    return run


def test_an_up_on_a_backend_without_the_stack_whose_buckets_exist_is_refused() -> None:
    """Someone logged in to another backend: `pulumi up` would build a second stack."""
    ours = ["frontend-prod1", "alb-logs-prod1"]
    [problem] = state_backend.missing_state_problems("prod", ours, LOCAL, stack_ls("dev"))
    assert problem.startswith(
        "the account already holds stack prod's buckets (frontend-prod1, alb-logs-prod1), but "
        "the state backend file://./.pulumi-state (from Pulumi.yaml backend.url) has no stack prod"
    )
    # The stack is there (any name form the CLI prints), or the CLI cannot tell: no refusal.
    for run in (stack_ls("org/payments/prod"), stack_ls(returncode=255)):
        assert state_backend.missing_state_problems("prod", ours, LOCAL, run) == []


def test_a_first_deploy_does_not_even_ask_the_cli() -> None:
    """No bucket of the stack in the account: nothing to compare the backend with."""

    def never(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise AssertionError(f"the CLI was asked: {command}")

    assert state_backend.missing_state_problems("prod", [], LOCAL, never) == []


def test_no_pulumi_cli_means_the_stack_list_is_unknown() -> None:
    def missing(command: list[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(command[0])

    assert state_backend.stack_names(missing) is None


def test_each_bucket_is_looked_up_once_for_both_bucket_checks() -> None:
    """preflight's taken-names check and the wrong-backend guard read one HeadBucket each."""
    s3, stub = stubbed("s3")
    stub.add_response("head_bucket", {}, expected_params={"Bucket": "frontend-prod1"})
    stub.add_response(
        "get_bucket_tagging",
        {"TagSet": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": "prod"}]},
    )
    stub.add_client_error("head_bucket", "404", http_status_code=404)
    stub.activate()
    owners = bucket_owners(s3, ["frontend-prod1", "alb-logs-prod1"], "prod")
    stub.assert_no_pending_responses()
    assert owners == {"frontend-prod1": THIS_STACKS, "alb-logs-prod1": FREE}
    assert taken_bucket_problems(owners) == []
