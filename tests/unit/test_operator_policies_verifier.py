"""The verifier's policy (operator_policies.py): exactly the calls the live tests make
(tests/integration), read-only, on the stack's own resources, never a secret's value."""

from __future__ import annotations

import ast

from payments_infra import REPO_ROOT
from payments_infra.offline import operator_grants as grants
from payments_infra.offline import operator_policies as op
from tests.operator_policy_queries import (
    ACCOUNT,
    actions_of,
    allowing,
    statements_of,
)
from tests.stacks import SUFFIX

VERIFIER_READ_VERBS = ("Describe", "Get", "List", "Filter")
WRITE_VERBS = (
    *("Create", "Delete", "Put", "Update", "Modify", "Attach", "Detach", "Run", "Start"),
    *("Stop", "Tag", "Untag", "Register", "Deregister", "Associate", "Disassociate", "Set"),
    *("Authorize", "Revoke", "Pass", "Invoke", "Publish", "Send", "Enable", "Disable"),
    *("Rotate", "Restore", "Reboot", "Add", "Remove", "Replace", "Encrypt", "Decrypt"),
    *("Generate", "Import"),
)


def _live_test_calls() -> set[str]:
    """Every AWS call tests/integration makes, as IAM actions: each boto3 client fixture of
    its conftest, and every method (or paginator) called on a name of that fixture."""
    import botocore.session  # noqa: PLC0415
    from botocore import xform_name  # noqa: PLC0415

    folder = REPO_ROOT / "tests" / "integration"
    services: dict[str, str] = {}
    for node in ast.walk(ast.parse((folder / "conftest.py").read_text())):
        if isinstance(node, ast.FunctionDef):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "boto3.client":
                    services[node.name] = str(ast.literal_eval(call.args[0]))
    session, calls = botocore.session.get_session(), set()
    for path in sorted(folder.glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text())):
            func = call.func if isinstance(call, ast.Call) else None
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                continue
            if (service := services.get(func.value.id)) is None:
                continue
            assert isinstance(call, ast.Call)
            method = func.attr
            if method == "get_paginator":
                method = str(ast.literal_eval(call.args[0]))
            model = session.get_service_model(service)
            operation = {xform_name(o): o for o in model.operation_names}[method]
            calls.add(f"{grants.IAM_PREFIXES.get(service, service)}:{operation}")
    return calls


def test_the_verifier_may_make_exactly_the_live_tests_calls(policies: dict[str, op.Policy]) -> None:
    calls = _live_test_calls()
    assert "ec2:DescribeVpcs" in calls and "wafv2:GetWebACLForResource" in calls  # the scan works
    assert set(grants.VERIFIER_WITHHELD) <= calls, (
        "withheld from the verifier, but no test calls it"
    )
    state = {"StateBucket", "StateObjects", "StateKey"}
    granted = {
        a
        for s in statements_of(policies["verifier.json"])
        if s["Sid"] not in state
        for a in s["Action"]
    }
    assert granted == calls - set(grants.VERIFIER_WITHHELD)


def test_the_verifier_holds_no_write_action_and_no_secret_value(
    policies: dict[str, op.Policy],
) -> None:
    actions = actions_of(policies["verifier.json"])
    names = {a.split(":", 1)[1] for a in actions}
    assert all(name.startswith(VERIFIER_READ_VERBS) for name in names), sorted(names)
    assert not [n for n in names if n.startswith(tuple(WRITE_VERBS))]
    assert "secretsmanager:GetSecretValue" not in actions and "kms:Decrypt" not in actions


def test_the_verifier_reads_the_stacks_resources_by_name(policies: dict[str, op.Policy]) -> None:
    verifier = policies["verifier.json"]
    ecs = f"arn:aws:ecs:us-east-1:{ACCOUNT}"
    service = f"{ecs}:service/ecs-cluster-{SUFFIX}/api-service-{SUFFIX}"
    assert allowing(verifier, "ecs:DescribeServices", service) == ["ReadService"]
    assert not allowing(verifier, "ecs:DescribeServices", f"{ecs}:service/other/other")
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/api-{SUFFIX}:*"
    assert allowing(verifier, "logs:FilterLogEvents", group) == ["ReadLogs"]
    db = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:aurora-cluster-{SUFFIX}"
    assert allowing(verifier, "rds:DescribeDBClusters", db) == ["ReadCluster"]
    # The rotation state of each database secret (LastRotatedDate), never its value.
    secrets = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
    for role in ("master", "app", "keys"):
        secret = f"{secrets}db-{role}-credentials-{SUFFIX}-a1B2c3"
        assert allowing(verifier, "secretsmanager:DescribeSecret", secret) == [
            "ReadSecretMetadata"
        ], role
    assert not allowing(verifier, "secretsmanager:DescribeSecret", f"{secrets}other-a1B2c3")
