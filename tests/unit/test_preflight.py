"""Preflight: each missing piece of a deploy is one sentence that says what to do."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from payments_infra import REPO_ROOT
from payments_infra.aws.provider import Zone
from payments_infra.config import StackConfig
from payments_infra.offline import account_controls_check, base_image, preflight, zone_offers
from payments_infra.offline.stack_file import read_stack_config
from tests.aws_stubs import stubbed
from tests.stacks import VALID_CONFIG, WEB_DIST


class Raising:
    """An STS client whose call fails before AWS answers."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_caller_identity(self) -> dict[str, str]:
        raise self.error


def completed(code: int, out: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, "")


def test_accepted_credentials_pass_and_name_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = stubbed("sts")
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
    client, stub = stubbed("sts")
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


def test_free_bucket_names_pass() -> None:
    client, stub = stubbed("s3")
    for name in ("alb-logs-dev1", "frontend-dev1"):
        stub.add_client_error(
            "head_bucket", "404", http_status_code=404, expected_params={"Bucket": name}
        )
    with stub:
        assert preflight.bucket_problems(client, ["alb-logs-dev1", "frontend-dev1"], "dev") == []
    stub.assert_no_pending_responses()


def test_taken_bucket_names_are_named_with_what_to_do() -> None:
    client, stub = stubbed("s3")
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
    client, stub = stubbed("s3")
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
) -> tuple[account_controls_check.AccountControlClients, list[Stubber]]:
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
    clients = account_controls_check.AccountControlClients(
        guardduty, securityhub, config, cloudtrail
    )
    return clients, [guardduty_stub, config_stub, cloudtrail_stub, securityhub_stub]


def account_control_problems(**existing: Any) -> list[str]:
    clients, stubs = controls_stubs(**existing)
    for stub in stubs:
        stub.activate()
    try:
        return account_controls_check.account_control_problems(clients, "dev1", "dev")
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
    # The zones: chosen in this account (us-east-1a is use1-az3 there), each offering the lot.
    ec2, ec2_stub = ec2_zones()
    planned = ["us-east-1b", "us-east-1c", "us-east-1d"]
    services = [f"com.amazonaws.us-east-1.{s}" for s in ENDPOINT_SERVICES]
    ec2_stub.add_response(
        "describe_vpc_endpoint_services",
        {"ServiceDetails": [{"ServiceName": s, "AvailabilityZones": planned} for s in services]},
        expected_params={"ServiceNames": services},
    )
    rds, rds_stub = stubbed("rds")
    rds_stub.add_response(
        "describe_orderable_db_instance_options", orderable({"17.6": planned}), SERVERLESS
    )
    clients = {
        "s3": s3,
        "lambda": functions,
        "ec2": ec2,
        "rds": rds,
        "guardduty": controls.guardduty,
        "securityhub": controls.securityhub,
        "config": controls.config,
        "cloudtrail": controls.cloudtrail,
    }
    monkeypatch.setattr(preflight, "aws_client", clients.__getitem__)
    for stub in [*stubs, s3_stub, ec2_stub, rds_stub]:
        stub.activate()
    [problem] = preflight._planned_problems(tmp_path, "dev")
    ec2_stub.assert_no_pending_responses()
    rds_stub.assert_no_pending_responses()
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


# The API image's base: the Dockerfile's pinned digest resolved on a registry that plays
# Docker Hub (token endpoint and manifest endpoint) on 127.0.0.1.

TOKEN = "anonymous-pull-token"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BASE = base_image.dockerfile_base_image() or ""
assert BASE, "app/api/Dockerfile lost its ARG BASE_IMAGE= line"
DIGEST = BASE.partition("@")[2]
MANIFEST_PATH = f"/v2/library/python/manifests/{DIGEST}"
# The Official Image's index: one image per platform, and an attestation for each.
BOTH = [("linux", "amd64"), ("unknown", "unknown"), ("linux", "arm64"), ("unknown", "unknown")]


def index(platforms: list[tuple[str, str]]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": f"sha256:{n:064x}",
                    "size": 1000,
                    "platform": {"os": os_name, "architecture": architecture},
                }
                for n, (os_name, architecture) in enumerate(platforms)
            ],
        }
    ).encode()


class FakeRegistry:
    """Docker Hub's token endpoint and registry, played by a local HTTP server."""

    def __init__(self) -> None:
        self.url = ""
        # path -> (status, body, content type); anything else is 404 MANIFEST_UNKNOWN.
        self.answers: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append((self.path, dict(self.headers.items())))
                path = urlsplit(self.path).path
                if path in registry.answers:
                    self.answer(*registry.answers[path])
                elif path == "/token":
                    self.answer(200, json.dumps({"token": TOKEN}).encode(), "application/json")
                elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.answer(401, b'{"errors": [{"code": "UNAUTHORIZED"}]}', "application/json")
                else:
                    self.answer(
                        404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}', "application/json"
                    )

            def answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def check(self, architecture: str = "ARM64", dockerfile: Path | None = None) -> list[str]:
        document = {"config": {"payments:apiCpuArchitecture": architecture}}
        return base_image.base_image_problems(
            document,
            dockerfile=dockerfile or base_image.DOCKERFILE,
            registry=self.url,
            auth=f"{self.url}/token",
            timeout=5,
        )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRegistry]:
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)  # 127.0.0.1 directly, never through a proxy
    fake = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())  # listening once made
    # A short poll interval: shutdown() waits for the loop to notice, up to one interval.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()  # returns once serve_forever has stopped
    thread.join()
    server.server_close()


def test_the_base_image_is_read_from_the_dockerfile_as_build_image_sh_reads_it() -> None:
    script = REPO_ROOT / "app" / "api" / "docker" / "build-image.sh"
    assert "sed -n 's/^ARG BASE_IMAGE=//p'" in script.read_text()
    assert BASE.startswith("python:3.12")
    image = base_image.docker_hub_reference(BASE)
    assert image is not None
    assert (image.repository, image.digest) == ("library/python", DIGEST)
    assert image.name_and_tag == BASE.partition("@")[0]


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("python:3.12-slim@sha256:" + "a" * 64, "library/python"),
        ("docker.io/library/python:3.12@sha256:" + "a" * 64, "library/python"),
        ("bitnami/python@sha256:" + "a" * 64, "bitnami/python"),
        ("public.ecr.aws/docker/library/python:3.12@sha256:" + "a" * 64, None),
        ("localhost:5000/python:3.12@sha256:" + "a" * 64, None),
        ("python:3.12-slim", None),  # no digest: nothing pinned to check
    ],
)
def test_only_docker_hub_references_pinned_by_digest_are_resolved(
    reference: str, repository: str | None
) -> None:
    image = base_image.docker_hub_reference(reference)
    assert (image.repository if image else None) == repository


@pytest.mark.parametrize("architecture", ["ARM64", "X86_64"])
def test_a_pinned_index_with_the_tasks_cpu_passes(
    registry: FakeRegistry, architecture: str
) -> None:
    registry.answers[MANIFEST_PATH] = (200, index(BOTH), OCI_INDEX)
    assert registry.check(architecture) == []
    (token_path, _), (manifest_path, headers) = registry.requests
    token_query = parse_qs(urlsplit(token_path).query)
    assert token_query == {
        "service": ["registry.docker.io"],
        "scope": ["repository:library/python:pull"],
    }
    assert manifest_path == MANIFEST_PATH
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    accepted = [t.strip() for t in headers["Accept"].split(",")]
    assert {OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"} <= set(accepted)


def test_a_digest_docker_hub_does_not_have_is_one_sentence(registry: FakeRegistry) -> None:
    tag = BASE.partition("@")[0]
    assert registry.check() == [
        f"app/api/Dockerfile pins the base image {BASE}, but Docker Hub has no manifest with "
        "that digest (404), so every build of the API image would fail: take the index digest "
        f"from the Digest: line of `docker buildx imagetools inspect {tag}`, set it with its "
        "tag in the ARG BASE_IMAGE= line, run `make image` and the tests, then run again"
    ]


def test_an_unreachable_registry_says_it_cannot_verify_and_how_to_check_by_hand() -> None:
    # A port bound but not listening: the connection is refused at once.
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        [problem] = base_image.base_image_problems(
            {"config": {}}, registry=url, auth=f"{url}/token", timeout=5
        )
    assert problem.startswith(
        f"cannot verify the base image {BASE} that app/api/Dockerfile pins, as Docker Hub did "
        "not answer (127.0.0.1:"
    )
    assert problem.endswith(
        f"check it by hand with `docker buildx imagetools inspect {BASE}` (it must show that "
        "Digest: and a Platform: linux/arm64 line), then run again where Docker Hub answers, "
        "or set payments:apiImage to a pushed image"
    )


@pytest.mark.parametrize(
    ("path", "status", "why"),
    [
        ("/token", 503, "no pull token from"),
        (MANIFEST_PATH, 429, "HTTP 429 for the manifest"),  # Docker Hub's pull rate limit
    ],
)
def test_a_registry_that_refuses_to_answer_cannot_verify_either(
    registry: FakeRegistry, path: str, status: int, why: str
) -> None:
    registry.answers[path] = (status, b'{"errors": []}', "application/json")
    [problem] = registry.check()
    assert problem.startswith("cannot verify the base image") and why in problem


def test_an_index_without_the_tasks_cpu_names_what_it_has(registry: FakeRegistry) -> None:
    registry.answers[MANIFEST_PATH] = (
        200,
        index([("linux", "amd64"), ("unknown", "unknown")]),
        OCI_INDEX,
    )
    tag = BASE.partition("@")[0]
    assert registry.check("ARM64") == [
        f"app/api/Dockerfile pins the base image {BASE}, whose index has no linux/arm64 image "
        "(only linux/amd64), so the build for payments:apiCpuArchitecture ARM64 would fail: "
        "pin a tag and digest whose index has linux/arm64 (`docker buildx imagetools inspect "
        f"{tag}` lists the platforms), or set payments:apiImage to a prebuilt image"
    ]
    assert registry.check("X86_64") == []


def test_a_single_platform_digest_is_not_the_index_the_dockerfile_expects(
    registry: FakeRegistry,
) -> None:
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}
    registry.answers[MANIFEST_PATH] = (200, json.dumps(manifest).encode(), OCI_MANIFEST)
    [problem] = registry.check()
    assert "a single-platform image rather than the multi-arch index" in problem


def test_the_reference_comes_from_the_dockerfile_given(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    digest = "sha256:" + "b" * 64
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"# base\nARG BASE_IMAGE=python:3.13-slim@{digest}\nFROM ${{BASE_IMAGE}}\n"
    )
    registry.answers[f"/v2/library/python/manifests/{digest}"] = (200, index(BOTH), OCI_INDEX)
    assert registry.check(dockerfile=dockerfile) == []
    dockerfile.write_text("FROM python:3.13-slim\n")
    [problem] = registry.check(dockerfile=dockerfile)
    assert problem.startswith(f"{dockerfile} has no ARG BASE_IMAGE= line")


def test_no_registry_look_up_with_a_prebuilt_image(registry: FakeRegistry) -> None:
    document = {"config": {"payments:apiImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1"}}
    assert base_image.base_image_problems(document, registry=registry.url, auth=registry.url) == []
    assert registry.requests == []


# Zones: the ones `pulumi up` will choose in this account, and what each offers the stack.

# An account where us-east-1a is the limited use1-az3.
ACCOUNT_ZONES = {
    "us-east-1a": "use1-az3",
    "us-east-1b": "use1-az6",
    "us-east-1c": "use1-az1",
    "us-east-1d": "use1-az2",
    "us-east-1e": "use1-az4",
    "us-east-1f": "use1-az5",
}
OPT_IN = {"Name": "opt-in-status", "Values": ["opt-in-not-required"]}


def ec2_zones(pinned: bool = False) -> tuple[Any, Stubber]:
    client, stub = stubbed("ec2")
    filters = [OPT_IN] if pinned else [OPT_IN, {"Name": "state", "Values": ["available"]}]
    stub.add_response(
        "describe_availability_zones",
        {
            "AvailabilityZones": [
                {"ZoneName": name, "ZoneId": zone_id, "State": "available"}
                for name, zone_id in ACCOUNT_ZONES.items()
            ]
        },
        expected_params={"Filters": filters},
    )
    return client, stub


def zone(name: str) -> Zone:
    return Zone(name, ACCOUNT_ZONES[name])


def test_preflight_chooses_the_zones_as_the_program_does() -> None:
    client, stub = ec2_zones()
    with stub:
        zones, found = zone_offers.planned_zones(client, None)
    assert found == []
    assert zones == [zone("us-east-1b"), zone("us-east-1c"), zone("us-east-1d")]


def test_a_pinned_zone_the_account_lacks_is_named() -> None:
    client, stub = ec2_zones(pinned=True)
    with stub:
        zones, found = zone_offers.planned_zones(client, ("us-east-1a", "us-east-1b", "us-east-1g"))
    assert zones == []
    assert found == [
        "payments:availabilityZones names us-east-1g, which this account does not have in "
        "us-east-1 (it has us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, "
        "us-east-1f): pin zones from that list, then run again"
    ]


def test_a_pinned_limited_zone_stops_only_the_arm64_tasks_it_cannot_run() -> None:
    zones = [zone("us-east-1a"), zone("us-east-1b"), zone("us-east-1c")]
    assert zone_offers.pinned_zone_problems(zones, "ARM64") == [
        "payments:availabilityZones pins us-east-1a (use1-az3), and Fargate runs no ARM64 "
        "tasks there (ECS developer guide, 64-bit ARM workloads), while "
        "payments:apiCpuArchitecture is ARM64: pin another zone (aws ec2 "
        "describe-availability-zones shows each zone's ID), remove the setting so the stack "
        "chooses, or set payments:apiCpuArchitecture to X86_64"
    ]
    assert zone_offers.pinned_zone_problems(zones, "X86_64") == []


def orderable(zones_by_version: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "OrderableDBInstanceOptions": [
            {
                "Engine": "aurora-postgresql",
                "EngineVersion": version,
                "DBInstanceClass": "db.serverless",
                "AvailabilityZones": [{"Name": z} for z in zones],
            }
            for version, zones in zones_by_version.items()
        ]
    }


SERVERLESS = {"Engine": "aurora-postgresql", "DBInstanceClass": "db.serverless"}
PLANNED = [zone("us-east-1b"), zone("us-east-1c"), zone("us-east-1d")]


def test_serverless_v2_offered_in_every_planned_zone_passes() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        orderable({"17.4": ["us-east-1b", "us-east-1c"], "17.6": ["us-east-1c", "us-east-1d"]}),
        expected_params=SERVERLESS,
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17") == []


def test_a_zone_without_serverless_v2_of_the_major_version_is_named() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        # 16.x in us-east-1d does not count for 17.
        orderable({"16.8": ["us-east-1d"], "17.6": ["us-east-1b", "us-east-1c"]}),
        expected_params=SERVERLESS,
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17") == [
            "Aurora PostgreSQL 17 Serverless v2 (db.serverless) is not offered in us-east-1d "
            "(use1-az2) in this account (RDS DescribeOrderableDBInstanceOptions): pin "
            "payments:availabilityZones to three zones that offer it, or choose another "
            "payments:dbEngineVersion, then run again"
        ]


def test_an_exact_engine_version_is_asked_for_exactly() -> None:
    client, stub = stubbed("rds")
    stub.add_response(
        "describe_orderable_db_instance_options",
        orderable({"17.4": ["us-east-1b", "us-east-1c", "us-east-1d"]}),
        expected_params={**SERVERLESS, "EngineVersion": "17.4"},
    )
    with stub:
        assert zone_offers.serverless_problems(client, PLANNED, "17.4") == []


def endpoint_services(offered: dict[str, list[str]]) -> tuple[Any, Stubber]:
    client, stub = stubbed("ec2")
    stub.add_response(
        "describe_vpc_endpoint_services",
        {
            "ServiceDetails": [
                {"ServiceName": name, "AvailabilityZones": zones} for name, zones in offered.items()
            ]
        },
        expected_params={"ServiceNames": list(offered)},
    )
    return client, stub


def test_interface_endpoints_offered_in_every_planned_zone_pass() -> None:
    all_three = ["us-east-1b", "us-east-1c", "us-east-1d"]
    services = {
        "com.amazonaws.us-east-1.ecr.api": all_three,
        "com.amazonaws.us-east-1.sts": all_three,
    }
    client, stub = endpoint_services(services)
    with stub:
        assert zone_offers.endpoint_problems(client, PLANNED, list(services)) == []


def test_an_interface_endpoint_missing_from_a_zone_is_named_with_the_zone() -> None:
    services = {
        "com.amazonaws.us-east-1.ecr.api": ["us-east-1b", "us-east-1c", "us-east-1d"],
        "com.amazonaws.us-east-1.ecr.dkr": ["us-east-1b", "us-east-1c"],
    }
    client, stub = endpoint_services(services)
    with stub:
        assert zone_offers.endpoint_problems(client, PLANNED, list(services)) == [
            "these VPC interface endpoints are not offered in the stack's zones: "
            "com.amazonaws.us-east-1.ecr.dkr in us-east-1d (use1-az2) (EC2 "
            "DescribeVpcEndpointServices): pin payments:availabilityZones to three zones that "
            "offer them, or set payments:vpcEndpoints to false, then run again"
        ]


ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "kms", "logs", "secretsmanager", "sts")


def test_the_plan_names_its_interface_endpoint_services() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    services = zone_offers.interface_endpoint_services(preflight.planned_graph(config, "dev"))
    assert services == [f"com.amazonaws.us-east-1.{s}" for s in ENDPOINT_SERVICES]
    config["payments:vpcEndpoints"] = "false"
    assert zone_offers.interface_endpoint_services(preflight.planned_graph(config, "dev")) == []


def test_pinned_zones_are_checked_as_given_and_a_limited_one_is_named() -> None:
    pinned = ["us-east-1a", "us-east-1b", "us-east-1c"]  # us-east-1a is use1-az3 here
    config = StackConfig.from_mapping(
        {**VALID_CONFIG, "payments:availabilityZones": json.dumps(pinned)},
        project="payments",
        stack="test",
    )
    ec2, ec2_stub = ec2_zones(pinned=True)
    ec2_stub.add_response(
        "describe_vpc_endpoint_services",
        {
            "ServiceDetails": [
                {"ServiceName": "com.amazonaws.us-east-1.sts", "AvailabilityZones": pinned}
            ]
        },
        expected_params={"ServiceNames": ["com.amazonaws.us-east-1.sts"]},
    )
    rds, rds_stub = stubbed("rds")
    rds_stub.add_response(
        "describe_orderable_db_instance_options", orderable({"17.6": pinned}), SERVERLESS
    )
    with ec2_stub, rds_stub:
        [problem] = zone_offers.zone_problems(ec2, rds, config, ["com.amazonaws.us-east-1.sts"])
    assert problem.startswith("payments:availabilityZones pins us-east-1a (use1-az3), and Fargate")
    ec2_stub.assert_no_pending_responses()
    rds_stub.assert_no_pending_responses()
