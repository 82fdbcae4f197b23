"""The database password rotation (db_rotation.py, the DbRotation component), read from
the recorded graph: the stack's own function, on by default, in the private subnets with its
own group, a role scoped to the three database secrets and their key, its log group first,
and a schedule per secret once everything it needs exists (the migrations included)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from payments_infra.aws.function_code import (
    FunctionCodeError,
    Pin,
    distribution_files,
    python_archive,
    read_lock,
)
from payments_infra.components.database.db_rotation import ROTATION_LOCK, rotation_code
from payments_infra.offline.checks_network import subnet_routing
from payments_infra.offline.creation_order import ancestors
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from tests.stacks import SUFFIX, VALID_CONFIG

FUNCTION = "aws:lambda/function:Function"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
PERMISSION = "aws:lambda/permission:Permission"
INVOCATION = "aws:lambda/invocation:Invocation"
# The database's secrets, db-{role}-credentials-{suffix}: the master's and the two logins'.
ROLES = ("master", "app", "keys")
LOGINS = ("app", "keys")


def by_name(graph: Graph, type_token: str, prefix: str) -> Resource:
    (resource,) = [r for r in graph.of_type(type_token) if r.name.startswith(prefix)]
    return resource


def rotation_function(graph: Graph) -> Resource:
    return by_name(graph, FUNCTION, "db-rotation-function")


def rotation_statements(graph: Graph) -> dict[str, dict[str, Any]]:
    policy = by_name(graph, "aws:iam/rolePolicy:RolePolicy", "db-rotation-policy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def groups(graph: Graph) -> dict[str, Resource]:
    return {g.inputs["name"]: g for g in graph.of_type(SECURITY_GROUP)}


def secret(graph: Graph, role: str) -> Resource:
    (found,) = [
        r for r in graph.of_type(SECRET) if r.inputs["name"] == f"db-{role}-credentials-{SUFFIX}"
    ]
    return found


def rotation_of(graph: Graph, role: str) -> Resource:
    """The SecretRotation of the secret ``db-{role}-credentials``."""
    (found,) = [
        r for r in graph.of_type(ROTATION) if r.inputs["secretId"] == secret(graph, role).id
    ]
    return found


@pytest.fixture(scope="module")
def graph_without_endpoints() -> Graph:
    return record_program({**VALID_CONFIG, "payments:vpcEndpoints": "false"}, stack="test")


def test_the_default_stack_rotates_every_database_secret_with_its_own_function(
    graph: Graph,
) -> None:
    rotations = graph.of_type(ROTATION)
    assert len(rotations) == len(ROLES)
    function = rotation_function(graph)
    for role in ROLES:
        rotation = rotation_of(graph, role)
        assert rotation.name == f"db-rotation-{role}"
        assert rotation.inputs["rotationLambdaArn"] == function.outputs["arn"]
        assert rotation.inputs["rotationRules"] == {"automaticallyAfterDays": 30}
    assert function.inputs["name"] == f"db-password-rotation-{SUFFIX}"
    assert function.inputs["handler"] == "handler.handler"
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert function.inputs["reservedConcurrentExecutions"] >= 1
    assert "environment" not in function.inputs  # nothing to encrypt
    assert not [r for r in graph if r.type.startswith("aws:serverlessrepository")]


def test_its_resources_are_a_password_rotation_component_of_the_platform(graph: Graph) -> None:
    (component,) = graph.of_type("payments:database:DbRotation")
    assert component.name == "db-rotation"
    (platform,) = graph.of_type("payments:platform:PaymentsPlatform")
    assert component.parent == platform.urn
    children = {r.name for r in graph if r.parent == component.urn}
    assert {
        "db-rotation-function",
        "db-rotation-logs",
        *(f"db-rotation-{role}" for role in ROLES),
        *(f"db-rotation-invoked-for-{role}" for role in ROLES),
    } <= children
    # Nothing of the rotation is left in the Database component.
    (database,) = graph.of_type("payments:database:Database")
    assert not [r for r in graph if r.parent == database.urn and r.type in (ROTATION, FUNCTION)]


def test_secrets_manager_may_invoke_it_for_each_database_secret_only(graph: Graph) -> None:
    permissions = graph.of_type(PERMISSION)
    mine = [p for p in permissions if p.name.startswith("db-rotation-")]
    assert sorted(p.name for p in mine) == sorted(
        f"db-rotation-invoked-for-{role}" for role in ROLES
    )
    for role in ROLES:
        permission = by_name(graph, PERMISSION, f"db-rotation-invoked-for-{role}")
        assert permission.inputs["function"] == rotation_function(graph).inputs["name"]
        assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["sourceArn"] == secret(graph, role).outputs["arn"]
        assert permission.inputs["sourceAccount"] == MOCK_ACCOUNT_ID


def test_it_runs_in_the_private_subnets_with_its_own_group(graph: Graph) -> None:
    vpc = rotation_function(graph).inputs["vpcConfig"]
    private = {r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private"}
    assert set(vpc["subnetIds"]) == private and len(private) == 3
    assert vpc["securityGroupIds"] == [groups(graph)[f"db-rotation-sg-{SUFFIX}"].id]


@pytest.mark.parametrize("endpoints", [True, False])
def test_its_group_reaches_the_database_and_secrets_manager_only(
    endpoints: bool, graph: Graph, graph_without_endpoints: Graph
) -> None:
    recorded = graph if endpoints else graph_without_endpoints
    by_group = groups(recorded)
    rotation_sg, db_sg = by_group[f"db-rotation-sg-{SUFFIX}"], by_group[f"db-sg-{SUFFIX}"]
    egress = {
        (r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4"), r.inputs["toPort"])
        for r in recorded.of_type(EGRESS)
        if r.inputs["securityGroupId"] == rotation_sg.id
    }
    admitted_by = {
        r.inputs["securityGroupId"]
        for r in recorded.of_type(INGRESS)
        if r.inputs.get("referencedSecurityGroupId") == rotation_sg.id
    }
    if endpoints:
        # Private DNS sends its Secrets Manager calls to that endpoint: out to it, let in by
        # its group, and by no other endpoint's (it calls nothing else).
        vpce_sg = by_group[f"vpce-secretsmanager-sg-{SUFFIX}"]
        assert egress == {(db_sg.id, 5432), (vpce_sg.id, 443)}
        assert admitted_by == {db_sg.id, vpce_sg.id}
    else:
        assert egress == {(db_sg.id, 5432), ("0.0.0.0/0", 443)}
        assert admitted_by == {db_sg.id}


def test_its_log_group_is_made_first_kept_30_days_under_the_logs_key(graph: Graph) -> None:
    function = rotation_function(graph)
    group = by_name(graph, "aws:cloudwatch/logGroup:LogGroup", "db-rotation-logs")
    assert group.inputs["name"] == f"/aws/lambda/db-password-rotation-{SUFFIX}"
    assert function.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]
    assert group.inputs["retentionInDays"] == 30
    logs_key = by_name(graph, "aws:kms/key:Key", "logs-key")
    assert group.inputs["kmsKeyId"] == logs_key.outputs["arn"]
    assert group.urn in function.dependencies


def test_its_role_may_rotate_the_three_secrets_with_their_key_and_nothing_else(
    graph: Graph,
) -> None:
    statements = rotation_statements(graph)
    secrets = sorted(secret(graph, role).outputs["arn"] for role in ROLES)
    db_key = by_name(graph, "aws:kms/key:Key", "database-key")
    assert sorted(statements["RotateTheseSecrets"]["Resource"]) == secrets
    assert sorted(statements["RotateTheseSecrets"]["Action"]) == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ]
    assert statements["GenerateThePassword"]["Action"] == ["secretsmanager:GetRandomPassword"]
    key_use = statements["UseTheDatabaseKeyThroughSecretsManager"]
    assert key_use["Resource"] == [db_key.outputs["arn"]]
    assert sorted(key_use["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert key_use["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    # No statement reaches another secret, another key, or any secret at all.
    for statement in statements.values():
        actions = statement["Action"]
        if any(a.startswith(("secretsmanager:", "kms:")) for a in actions):
            assert sorted(statement["Resource"]) in (secrets, [db_key.outputs["arn"]], ["*"])
            if statement["Resource"] == ["*"]:
                assert actions == ["secretsmanager:GetRandomPassword"]


def test_its_network_interfaces_are_limited_to_the_private_subnets_and_its_group(
    graph: Graph,
) -> None:
    statements = rotation_statements(graph)
    ec2 = f"arn:aws:ec2:us-east-1:{MOCK_ACCOUNT_ID}"
    private = sorted(r.subnet.id for r in subnet_routing(graph) if r.declared_tier == "private")
    rotation_sg = groups(graph)[f"db-rotation-sg-{SUFFIX}"]
    assert sorted(statements["CreateItsNetworkInterfaces"]["Resource"]) == sorted(
        [
            f"{ec2}:network-interface/*",
            f"{ec2}:security-group/{rotation_sg.id}",
            *(f"{ec2}:subnet/{subnet}" for subnet in private),
        ]
    )
    assert statements["ManageItsNetworkInterfaces"]["Resource"] == [f"{ec2}:network-interface/*"]


@pytest.mark.parametrize("role", ROLES)
def test_the_function_and_each_first_rotation_wait_for_what_they_need(
    graph: Graph, role: str
) -> None:
    function = rotation_function(graph)
    policy = by_name(graph, "aws:iam/rolePolicy:RolePolicy", "db-rotation-policy")
    assert policy.urn in function.dependencies  # Lambda checks the ENI permissions
    rotation = rotation_of(graph, role)
    waits_for = ancestors(graph, rotation)
    needed = [
        # Secrets Manager may invoke the function for every secret: a login's rotation reads
        # the master's secret, and all three are made before any first rotation.
        *(by_name(graph, PERMISSION, f"db-rotation-invoked-for-{r}") for r in ROLES),
        *(by_name(graph, VERSION, f"database-{r}-credentials-value") for r in ROLES),
        by_name(graph, "aws:rds/clusterInstance:ClusterInstance", "database-writer"),
        by_name(graph, INGRESS, "db-rotation-to-db-ingress"),
        by_name(graph, EGRESS, "db-rotation-to-db-egress"),
        by_name(graph, INGRESS, "db-rotation-to-vpce-secretsmanager-ingress"),
        by_name(graph, EGRESS, "db-rotation-to-vpce-secretsmanager-egress"),
        by_name(graph, INVOCATION, "api-migrations-run"),
        policy,
    ]
    assert [r.name for r in needed if r.urn not in waits_for] == []


@pytest.mark.parametrize("role", LOGINS)
def test_a_logins_rotation_depends_on_the_migration_run_itself(graph: Graph, role: str) -> None:
    """Its first rotation gives the login's second user a password: the migrations create
    that user, so the rotation names the run among its own dependencies, not by chance."""
    (run,) = graph.of_type(INVOCATION)
    assert run.urn in rotation_of(graph, role).dependencies


def test_a_failed_rotation_raises_the_rotation_alarm(graph: Graph) -> None:
    (alarm,) = [
        a
        for a in graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs["name"] == f"alarm-db-rotation-errors-{SUFFIX}"
    ]
    assert alarm.inputs["namespace"] == "AWS/Lambda"
    assert alarm.inputs["metricName"] == "Errors"
    assert alarm.inputs["dimensions"] == {"FunctionName": rotation_function(graph).inputs["name"]}


# --- The function's archive ---------------------------------------------------------------------


def archive_members(archive: pulumi.AssetArchive) -> dict[str, Path]:
    return {
        name: Path(asset.path)
        for name, asset in archive.assets.items()
        if isinstance(asset, pulumi.FileAsset)
    }


def test_the_archive_holds_the_handler_the_ca_bundle_and_the_locked_packages() -> None:
    members = archive_members(rotation_code())
    assert members["handler.py"].name == "handler.py"
    assert members["rds-global-bundle.pem"].read_text().startswith("-----BEGIN CERTIFICATE-----")
    tops = {name.split("/")[0] for name in members}
    assert {"pg8000", "scramp", "asn1crypto", "dateutil", "six.py"} <= tops
    assert next(p.name for p in read_lock(ROTATION_LOCK)) == "pg8000"
    assert not [n for n in members if n.endswith((".pyc", ".so")) or "__pycache__" in n]
    assert not [n for n in members if n.endswith(("/RECORD", "/INSTALLER", "/direct_url.json"))]


def test_the_archive_runs_on_its_own_packages(tmp_path: Path) -> None:
    # Unpacked as Lambda unpacks it, the handler imports pg8000 from the archive, not from
    # this virtualenv: nothing the function needs is left out.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in archive_members(rotation_code()).items():
            archive.write(path, name)
    zipfile.ZipFile(buffer).extractall(tmp_path)
    probe = """
import sys
sys.path.insert(0, sys.argv[1])
import handler
handler.login  # pg8000 imported, and through it scramp, asn1crypto, dateutil, six
packages = ("pg8000", "scramp", "asn1crypto", "dateutil", "six")
for name, module in sorted(sys.modules.items()):
    if name.split(".")[0] in packages and getattr(module, "__file__", None):
        print(module.__file__)
print(handler.scram_verifier("x").split("$")[0])
"""
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    *files, mechanism = result.stdout.split()
    assert mechanism == "SCRAM-SHA-256"
    assert {Path(f).relative_to(tmp_path).parts[0] for f in files} >= {
        "pg8000",
        "scramp",
        "asn1crypto",
        "dateutil",
        "six.py",
    }


def test_a_virtualenv_without_the_locked_version_stops_the_program(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text("pg8000==0.0.1 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(
        FunctionCodeError, match=r"pg8000 is 1\.31\.6 in this virtualenv.*make venv"
    ):
        python_archive({}, lock)
    lock.write_text("not-installed-package==1.0\n")
    with pytest.raises(FunctionCodeError, match="is not installed: run `make venv`"):
        python_archive({}, lock)


def test_an_installed_file_that_differs_from_its_wheel_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "fakepkg").mkdir(parents=True)
    module = site / "fakepkg" / "__init__.py"
    module.write_text("VALUE = 1\n")
    info = site / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "RECORD").write_text(
        f"fakepkg/__init__.py,{_record_hash(module)},10\n"
        "fakepkg-1.0.dist-info/METADATA,,\nfakepkg-1.0.dist-info/RECORD,,\n"
    )
    monkeypatch.syspath_prepend(str(site))
    lock = tmp_path / "requirements.txt"
    lock.write_text("fakepkg==1.0\n")
    assert "fakepkg/__init__.py" in distribution_files(Pin("fakepkg", "1.0"), lock)
    module.write_text("VALUE = 2  # changed after pip installed it\n")
    with pytest.raises(FunctionCodeError, match="differs from the fakepkg wheel"):
        distribution_files(Pin("fakepkg", "1.0"), lock)


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_destroy_moves_the_function_to_the_locked_default_group_first(graph: Graph) -> None:
    """The interfaces Lambda keeps after the delete must not hold the rotation group."""
    function = rotation_function(graph)
    (default_group,) = graph.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert function.inputs["replaceSecurityGroupsOnDestroy"] is True
    assert function.inputs["replacementSecurityGroupIds"] == [default_group.id]
    assert default_group.inputs["ingress"] == []
    assert default_group.inputs["egress"] == []
    others = [f for f in graph.of_type(FUNCTION) if f is not function]
    assert others  # the log forwarder, the migration runner: not in a VPC
    for other in others:
        assert "replaceSecurityGroupsOnDestroy" not in other.inputs, other.name
