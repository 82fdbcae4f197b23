"""`make plan`: the offline plan as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from payments_infra import REPO_ROOT
from payments_infra.components.database.db_rotation import ROTATION_OFF_WARNING
from tests.stacks import WEB_DIST


def run_plan(tmp_path: Path | None, *options: str) -> subprocess.CompletedProcess[str]:
    """`python -m payments_infra.offline.plan`; the graph goes to tmp_path, or its default place."""
    graph_file = ["--json", str(tmp_path / "plan.json")] if tmp_path else []
    return subprocess.run(
        [sys.executable, "-m", "payments_infra.offline.plan", *graph_file, *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_of_the_example_stack_lists_every_tier_and_passes_every_check(
    tmp_path: Path,
) -> None:
    result = run_plan(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for count, type_ in [
        (1, "aws:ec2/vpc:Vpc"),
        (6, "aws:ec2/subnet:Subnet"),
        (1, "aws:ec2/internetGateway:InternetGateway"),
        (3, "aws:ec2/natGateway:NatGateway"),
        (3, "aws:ec2/eip:Eip"),
        (4, "aws:ec2/routeTable:RouteTable"),
        (6, "aws:ec2/routeTableAssociation:RouteTableAssociation"),
        (1, "aws:ec2/flowLog:FlowLog"),
        (5, "aws:ec2/vpcEndpoint:VpcEndpoint"),
        (14, "aws:cloudwatch/logGroup:LogGroup"),
        (3, "aws:lambda/function:Function"),  # the forwarder, the rotation, the migration runner
        (1, "aws:lambda/invocation:Invocation"),  # the migration step of each deploy
        (3, "aws:secretsmanager/secretRotation:SecretRotation"),
        (1, "aws:sns/topic:Topic"),
        (1, "aws:cloudwatch/dashboard:Dashboard"),
        (25, "aws:cloudwatch/metricAlarm:MetricAlarm"),
        # The VPC's DNS Firewall: the allow-list, "*", and the rule that refuses every other.
        (2, "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"),
        (2, "aws:route53/resolverFirewallRule:ResolverFirewallRule"),
        (1, "aws:route53/resolverQueryLogConfigAssociation:ResolverQueryLogConfigAssociation"),
        (1, "aws:cloudfront/distribution:Distribution"),
        (2, "aws:wafv2/webAcl:WebAcl"),
        (1, "aws:wafv2/webAclAssociation:WebAclAssociation"),
        (1, "aws:lb/listenerRule:ListenerRule"),
        (1, "aws:lb/loadBalancer:LoadBalancer"),
        (1, "aws:lb/listener:Listener"),
        (1, "aws:ecs/service:Service"),
        (2, "aws:appautoscaling/policy:Policy"),
        (1, "aws:rds/cluster:Cluster"),
        (2, "aws:rds/clusterInstance:ClusterInstance"),
        (3, "aws:secretsmanager/secret:Secret"),  # the master's and the two logins'
        (3, "random:index/randomPassword:RandomPassword"),
        (3, "aws:ecs/taskDefinition:TaskDefinition"),  # the API, the migrations, the key CLI
        (3, "aws:kms/key:Key"),  # logs, database, ECR
        (1, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"),  # enhanced monitoring
    ]:
        assert f"{count:>3}  {type_}\n" in out, type_
    assert "placeholders" in out
    assert "certificate mode 3, self-signed (a demo)" in out
    assert "Monthly cost estimate, us-east-1, production" in out
    assert "NON-PRODUCTION WHAT-IF" in out
    assert "payments:dbRotationDays is 0" not in out  # the example stack rotates it
    # Which task logs in with which database secret, and the migration step of a deploy.
    assert re.search(r"\n    api-dev1 +db-app-credentials-dev1\n", out)
    assert re.search(r"\n    api-keys-dev1 +db-keys-credentials-dev1\n", out)
    assert re.search(
        r"\n    migrations-dev1 +db-app-credentials-dev1, db-keys-credentials-dev1, "
        r"db-master-credentials-dev1\n",
        out,
    )
    assert re.search(r"runs migrations-dev1 once per new revision, before api-service-dev1\n", out)
    assert "FAIL" not in out and out.count("PASS") == 39
    # AWS's own rules: the API-model coverage and the IAM lint, each with what it read.
    assert re.search(r"\n    \d+/\d+ AWS resource types mapped to their API call", out)
    assert "input values checked against the API model" in out
    assert "not an AWS API call: docker-build:index:Image: built and pushed by Docker" in out
    assert "PASS  every input as the AWS API model allows" in out
    assert re.search(r"\n    \d+ documents linted \(.*trust policy\); 0 findings", out)
    assert "PASS  IAM documents clean in AWS's action catalogue" in out


TLS_FLAG = "not fit for production: aws:cloudfront/distribution:Distribution frontend-cdn uses "
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


@pytest.mark.parametrize(
    ("mode", "settings", "named"),
    [
        ("self-signed", {}, "(certificate mode 3, self-signed)"),
        (
            "existing",
            {"payments:certificateArn": CERT, "payments:apiDomainName": "api.pay.example.com"},
            "(certificate mode 2, existing, without payments:cloudfrontCertificateArn)",
        ),
        (
            "dns",
            {"payments:domainName": "pay.example.com", "payments:hostedZoneId": "Z0123456789ABC"},
            None,
        ),
    ],
)
def test_plan_flags_cloudfronts_default_certificate_as_not_fit_for_production(
    tmp_path: Path, mode: str, settings: dict[str, str], named: str | None
) -> None:
    stack_file = tmp_path / "Pulumi.tls.yaml"
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text().replace("app/web/dist", WEB_DIST)
    stack_file.write_text(example + "".join(f"  {k}: {v}\n" for k, v in settings.items()))
    result = run_plan(tmp_path, "--stack", "tls", "--stack-file", str(stack_file))
    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not a failure
    assert f"Certificate mode: {mode}." in result.stdout or mode == "self-signed"
    flags = [line for line in result.stdout.splitlines() if TLS_FLAG in line]
    document = json.loads((tmp_path / "plan.json").read_text())
    if named is None:
        assert flags == [] and not [w for w in document["warnings"] if TLS_FLAG in w]
        return
    (flag,) = flags
    assert flag.startswith("    WARN  ") and named in flag
    assert "forces the TLSv1 security policy" in flag and "Fix: " in flag
    assert [w for w in document["warnings"] if TLS_FLAG in w] == [flag.removeprefix("    WARN  ")]


def test_plan_warns_when_the_database_password_does_not_rotate(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.norotation.yaml"
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text().replace("app/web/dist", WEB_DIST)
    stack_file.write_text(example + '  payments:dbRotationDays: "0"\n')
    result = run_plan(tmp_path, "--stack", "norotation", "--stack-file", str(stack_file))
    assert result.returncode == 0, result.stdout + result.stderr  # allowed, but said
    warnings = result.stdout.split("Warnings:\n", maxsplit=1)[1].split("\n\n", maxsplit=1)[0]
    assert f"    WARN  {ROTATION_OFF_WARNING}" in warnings.splitlines()
    document = json.loads((tmp_path / "plan.json").read_text())
    assert ROTATION_OFF_WARNING in document["warnings"]
    assert "aws:secretsmanager/secretRotation:SecretRotation" not in result.stdout


def test_plan_writes_the_graph_as_json(tmp_path: Path) -> None:
    assert run_plan(tmp_path).returncode == 0
    document = json.loads((tmp_path / "plan.json").read_text())
    types = [r["type"] for r in document["resources"]]
    assert types.count("aws:ec2/subnet:Subnet") == 6
    assert all(check["passed"] for check in document["checks"])
    vpc = next(r for r in document["resources"] if r["type"] == "aws:ec2/vpc:Vpc")
    assert vpc["physical_name"] == "vpc-dev1" and vpc["component"] == "network"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "payments:environmentSuffix: Prod_1",
            "payments:environmentSuffix must contain only lowercase letters, digits and hyphens; "
            'got "Prod_1"',
        ),
        ('payments:environmentSuffix: ""', "payments:environmentSuffix must be set"),
        (
            "payments:environmentSuffix: abcdefghijklmnopqrstuvwxyz",
            "payments:environmentSuffix must be at most 25 characters",
        ),
        ("payments:environmentSuffix: 9prod", "must start with a lowercase letter"),
        ("payments:environmentSuffix: -prod", "must start with a lowercase letter"),
        ("aws:region: eu-west-1", 'aws:region must be us-east-1; got "eu-west-1"'),
        ("payments:vpcCidr: 10.0.0.0/27", "payments:vpcCidr must have a prefix length"),
        ("payments:vpcCidr: hello", "payments:vpcCidr must be an IPv4 CIDR block"),
    ],
)
def test_bad_config_exits_non_zero_with_its_message_and_no_traceback(
    tmp_path: Path, setting: str, message: str
) -> None:
    base = {"payments:environmentSuffix": "dev1", "aws:region": "us-east-1"}
    key = setting.split(": ", maxsplit=1)[0]
    lines = [f"  {k}: {v}" for k, v in base.items() if k != key] + [f"  {setting}"]
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text("config:\n" + "\n".join(lines) + "\n")
    result = run_plan(tmp_path, "--stack", "bad", "--stack-file", str(stack_file))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize(
    ("stack", "text", "message"),
    [
        (
            "broken",
            "config:\n  payments:environmentSuffix: dev1\n   aws:region: [us-east-1\n",
            "plan: Pulumi.broken.yaml:3:",
        ),
        (
            "twice",
            "config:\n  aws:region: us-east-1\n  aws:region: us-east-1\n",
            "plan: Pulumi.twice.yaml:3:3: key aws:region is set twice (first on line 2); keep one",
        ),
    ],
)
def test_a_broken_stack_file_is_one_line_with_file_line_and_column(
    tmp_path: Path, stack: str, text: str, message: str
) -> None:
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    stack_file.write_text(text)
    result = run_plan(tmp_path, "--stack", stack, "--stack-file", str(stack_file))
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_an_empty_stack_name_says_what_stack_must_be(tmp_path: Path) -> None:
    result = run_plan(tmp_path, "--stack", "")
    assert result.returncode == 2
    assert result.stderr == (
        "plan: STACK must be a stack name such as dev (the program reads "
        "Pulumi.<STACK>.yaml); got an empty value\n"
    )


def test_a_stack_without_its_file_says_what_to_copy(tmp_path: Path) -> None:
    result = run_plan(tmp_path, "--stack", "nosuchstack")
    assert result.returncode == 2
    assert result.stderr == (
        "plan: Pulumi.nosuchstack.yaml does not exist: copy Pulumi.dev.yaml to "
        "Pulumi.nosuchstack.yaml and set payments:environmentSuffix\n"
    )


def test_each_stack_writes_its_own_graph_file(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.plantest.yaml"
    example = (REPO_ROOT / "Pulumi.dev.yaml").read_text()
    # The small fixture app, so this test does not depend on `make web`.
    stack_file.write_text(example.replace("app/web/dist", WEB_DIST))
    written = REPO_ROOT / "build" / "plan-plantest.json"
    written.unlink(missing_ok=True)
    try:
        result = run_plan(None, "--stack", "plantest", "--stack-file", str(stack_file))
        assert result.returncode == 0, result.stderr
        assert f"Graph written to {written}." in result.stdout
        assert json.loads(written.read_text())["checks"]
    finally:
        written.unlink(missing_ok=True)
