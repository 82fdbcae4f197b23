"""Preflight: each missing piece of a deploy is one sentence that says what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from payments_infra import REPO_ROOT
from payments_infra.offline import preflight
from payments_infra.offline.stack_file import read_stack_config
from tests.stacks import WEB_DIST


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


def s3_stub() -> tuple[Any, Stubber]:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client, Stubber(client)


def test_free_bucket_names_pass() -> None:
    client, stub = s3_stub()
    for name in ("alb-logs-dev1", "frontend-dev1"):
        stub.add_client_error(
            "head_bucket", "404", http_status_code=404, expected_params={"Bucket": name}
        )
    with stub:
        assert preflight.bucket_problems(client, ["alb-logs-dev1", "frontend-dev1"], "dev") == []
    stub.assert_no_pending_responses()


def test_taken_bucket_names_are_named_with_what_to_do() -> None:
    client, stub = s3_stub()
    stub.add_client_error("head_bucket", "403", http_status_code=403)  # alb-logs: elsewhere
    stub.add_response("head_bucket", {})  # frontend: ours, tagged for another stack
    stub.add_response(
        "get_bucket_tagging",
        {"TagSet": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": "prod"}]},
    )
    stub.add_response("head_bucket", {})  # log-archive: ours, untagged
    stub.add_client_error("get_bucket_tagging", "NoSuchTagSet", http_status_code=404)
    names = ["alb-logs-dev1", "frontend-dev1", "log-archive-dev1"]
    with stub:
        [problem] = preflight.bucket_problems(client, names, "dev")
    assert problem == (
        "S3 bucket names are global and these are taken: alb-logs-dev1 (another AWS "
        "account's), frontend-dev1 (in this account, but not this stack's), log-archive-dev1 "
        "(in this account, but not this stack's); choose another payments:environmentSuffix "
        "(it ends every bucket name) and run again"
    )


def test_a_bucket_this_stack_already_made_is_fine() -> None:
    client, stub = s3_stub()
    stub.add_response("head_bucket", {}, expected_params={"Bucket": "frontend-dev1"})
    stub.add_response(
        "get_bucket_tagging",
        {"TagSet": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": "dev"}]},
    )
    with stub:
        assert preflight.bucket_problems(client, ["frontend-dev1"], "dev") == []


def test_planned_bucket_names_come_from_the_plan_of_the_stack() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    assert preflight.planned_bucket_names(config, "dev") == ["alb-logs-dev1", "frontend-dev1"]
    config["payments:logArchive"] = "s3"
    assert "log-archive-dev1" in preflight.planned_bucket_names(config, "dev")


@pytest.mark.parametrize(
    ("architecture", "machine", "handlers", "fails"),
    [
        ("ARM64", "aarch64", [], False),
        ("ARM64", "arm64", [], False),
        ("X86_64", "x86_64", [], False),
        ("ARM64", "x86_64", ["qemu-aarch64"], False),
        ("ARM64", "x86_64", [], True),
        ("X86_64", "aarch64", ["qemu-aarch64"], True),
        ("X86_64", "aarch64", ["qemu-x86_64"], False),
    ],
)
def test_building_for_another_cpu_needs_its_binfmt_handler(
    tmp_path: Path, architecture: str, machine: str, handlers: list[str], fails: bool
) -> None:
    for handler in handlers:
        (tmp_path / handler).write_text("enabled\n")
    document = {"config": {"payments:apiCpuArchitecture": architecture}}
    found = preflight.architecture_problems(document, machine=machine, binfmt_dir=tmp_path)
    assert bool(found) == fails
    if fails:
        assert found[0].startswith(f"payments:apiCpuArchitecture is {architecture}, but this ")
        assert "apt-get install qemu-user-static binfmt-support" in found[0]


def test_no_architecture_check_with_a_prebuilt_image(tmp_path: Path) -> None:
    document = {"config": {"payments:apiImage": "r/a:1", "payments:apiCpuArchitecture": "ARM64"}}
    assert preflight.architecture_problems(document, machine="x86_64", binfmt_dir=tmp_path) == []


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client, Stubber(client)


# Lambda: reserved concurrency must leave the 100 unreserved that Lambda keeps.

FORWARDER = {"alb-log-forwarder-dev1": 5}


def lambda_stub(unreserved: int, held: int | None) -> tuple[Any, Stubber]:
    client, stub = stubbed("lambda")
    stub.add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": unreserved,
            }
        },
    )
    if held is None:
        stub.add_client_error(
            "get_function_concurrency", "ResourceNotFoundException", http_status_code=404
        )
    else:
        stub.add_response(
            "get_function_concurrency",
            {"ReservedConcurrentExecutions": held},
            expected_params={"FunctionName": "alb-log-forwarder-dev1"},
        )
    return client, stub


@pytest.mark.parametrize(
    ("unreserved", "held", "fails"),
    [
        (1000, None, False),  # a new stack in a usual account
        (105, None, False),  # exactly 100 left
        (104, None, True),
        (10, None, True),  # a new account's starting quota
        (100, 5, False),  # a second `make up`: the stack already holds its 5
    ],
)
def test_reserved_concurrency_must_leave_100_unreserved(
    unreserved: int, held: int | None, fails: bool
) -> None:
    client, stub = lambda_stub(unreserved, held)
    with stub:
        found = preflight.concurrency_problems(client, FORWARDER)
    assert bool(found) == fails
    if fails:
        assert found == [
            f"Lambda's unreserved concurrency in us-east-1 is {unreserved}, the stack reserves 5 "
            "more (alb-log-forwarder-dev1) and Lambda keeps 100 unreserved: ask for a higher "
            "'Concurrent executions' quota in Service Quotas (new accounts start low), then "
            "run again"
        ]


def test_the_plan_says_what_each_function_reserves() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    reserved = preflight.reserved_concurrency(preflight.planned_graph(config, "dev"))
    assert reserved["alb-log-forwarder-dev1"] == 5


# payments:accountControls: one per account, and refused when the account has its own.


def controls_stubs(
    *,
    detectors: list[tuple[str, dict[str, str]]] = (),  # type: ignore[assignment]
    recorders: list[str] = (),  # type: ignore[assignment]
    channels: list[str] = (),  # type: ignore[assignment]
    trails: list[tuple[str, str]] = (),  # type: ignore[assignment]
    hub: bool = False,
) -> tuple[preflight.AccountControlClients, list[Stubber]]:
    guardduty, guardduty_stub = stubbed("guardduty")
    guardduty_stub.add_response("list_detectors", {"DetectorIds": [d for d, _ in detectors]})
    for detector_id, tags in detectors:
        guardduty_stub.add_response(
            "get_detector",
            {"ServiceRole": "arn:aws:iam::123456789012:role/gd", "Status": "ENABLED", "Tags": tags},
            expected_params={"DetectorId": detector_id},
        )
    config, config_stub = stubbed("config")
    config_stub.add_response(
        "describe_configuration_recorders",
        {"ConfigurationRecorders": [{"name": n} for n in recorders]},
    )
    config_stub.add_response(
        "describe_delivery_channels", {"DeliveryChannels": [{"name": n} for n in channels]}
    )
    cloudtrail, cloudtrail_stub = stubbed("cloudtrail")
    cloudtrail_stub.add_response(
        "describe_trails",
        {"trailList": [{"Name": n, "HomeRegion": r} for n, r in trails]},
        expected_params={"includeShadowTrails": True},
    )
    securityhub, securityhub_stub = stubbed("securityhub")
    if hub:
        securityhub_stub.add_response(
            "describe_hub", {"HubArn": "arn:aws:securityhub:us-east-1:123456789012:hub/default"}
        )
    else:
        securityhub_stub.add_client_error(
            "describe_hub",
            "InvalidAccessException",
            "Account 123456789012 is not subscribed to AWS Security Hub",
            http_status_code=401,
        )
    clients = preflight.AccountControlClients(guardduty, securityhub, config, cloudtrail)
    return clients, [guardduty_stub, config_stub, cloudtrail_stub, securityhub_stub]


def account_control_problems(**existing: Any) -> list[str]:
    clients, stubs = controls_stubs(**existing)
    for stub in stubs:
        stub.activate()
    try:
        return preflight.account_control_problems(clients, "dev1", "dev")
    finally:
        for stub in stubs:
            stub.assert_no_pending_responses()
            stub.deactivate()


OURS = {"Project": "payments", "Stack": "dev"}


def test_an_account_without_any_of_them_passes() -> None:
    assert account_control_problems() == []


def test_this_stacks_own_controls_pass_a_second_up() -> None:
    assert (
        account_control_problems(
            detectors=[("d-ours", OURS)],
            recorders=["config-recorder-dev1"],
            channels=["config-delivery-dev1"],
            trails=[("trail-dev1", "us-east-1")],
            hub=True,  # counted as ours: the stack's other controls are there
        )
        == []
    )


@pytest.mark.parametrize(
    ("existing", "named"),
    [
        ({"detectors": [("d-1234", {})]}, "a GuardDuty detector (d-1234)"),
        (
            {"detectors": [("d-5678", {"Project": "payments", "Stack": "prod"})]},
            "a GuardDuty detector (d-5678)",
        ),
        ({"recorders": ["default"]}, "an AWS Config recorder (default)"),
        ({"channels": ["default"]}, "an AWS Config delivery channel (default)"),
        ({"trails": [("org-trail", "eu-west-1")]}, "a CloudTrail trail (org-trail)"),
        ({"trails": [("trail-dev1", "eu-west-1")]}, "a CloudTrail trail (trail-dev1)"),
        ({"hub": True}, "Security Hub"),
    ],
)
def test_an_existing_control_is_refused_in_one_sentence_naming_it_and_the_setting(
    existing: dict[str, Any], named: str
) -> None:
    assert account_control_problems(**existing) == [
        f"payments:accountControls is true, but this account already has {named} in "
        "us-east-1: these are one per account (often the organisation's), so set "
        "payments:accountControls to false to rely on them, or remove them, then run again"
    ]


def test_every_existing_control_is_named_at_once() -> None:
    [problem] = account_control_problems(
        detectors=[("d-1", {})], recorders=["default"], trails=[("org", "us-east-1")], hub=True
    )
    assert (
        "already has a GuardDuty detector (d-1), an AWS Config recorder (default), "
        "a CloudTrail trail (org), Security Hub in us-east-1" in problem
    )


def test_only_a_plan_with_account_controls_asks_about_them() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    detectors = "aws:guardduty/detector:Detector"
    assert preflight.planned_graph(config, "dev").of_type(detectors) == []
    config["payments:accountControls"] = "true"
    assert len(preflight.planned_graph(config, "dev").of_type(detectors)) == 1


def test_up_asks_about_the_controls_and_concurrency_the_plan_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n"
        "  payments:environmentSuffix: dev1\n"
        "  aws:region: us-east-1\n"
        f"  payments:webDistDir: {WEB_DIST}\n"
        '  payments:accountControls: "true"\n'
    )
    controls, stubs = controls_stubs(detectors=[("d-1234", {})])
    s3, s3_stub = stubbed("s3")
    for _ in range(4):  # alb-logs, cloudtrail-logs, config-history, frontend: all free
        s3_stub.add_client_error("head_bucket", "404", http_status_code=404)
    functions = PlentyOfConcurrency()
    clients = {
        "s3": s3,
        "lambda": functions,
        "guardduty": controls.guardduty,
        "securityhub": controls.securityhub,
        "config": controls.config,
        "cloudtrail": controls.cloudtrail,
    }
    monkeypatch.setattr(preflight, "aws_client", clients.__getitem__)
    for stub in [*stubs, s3_stub]:
        stub.activate()
    [problem] = preflight._planned_problems(tmp_path, "dev")
    assert problem.startswith(
        "payments:accountControls is true, but this account already has a GuardDuty "
        "detector (d-1234) in us-east-1"
    )
    assert "alb-log-forwarder-dev1" in functions.asked


class PlentyOfConcurrency:
    """A Lambda client of an account with the usual quota, whatever functions it is asked
    about (the plan may hold more than the forwarder)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_account_settings(self) -> dict[str, Any]:
        return {"AccountLimit": {"UnreservedConcurrentExecutions": 1000}}

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
        self.asked.append(FunctionName)
        return {}
