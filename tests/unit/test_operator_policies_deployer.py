"""The deployer's policy (operator_policies.py): every create call of every test stack's graph,
what the program's data sources read, IAM only on the stack's own roles, and the state backend
(written by the deployer, only read by the verifier)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.offline import operator_grants as grants
from payments_infra.offline import operator_policies as op
from payments_infra.offline.api_calls import API_CALLS
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from payments_infra.offline.state_backend import Backend
from tests.operator_policy_queries import (
    ACCOUNT,
    actions_of,
    allowing,
    operator_stack,
    statements_of,
)
from tests.stacks import EVERYTHING, SUFFIX, TEST_STACKS, VALID_CONFIG


@pytest.mark.parametrize("stack_name", sorted(TEST_STACKS))
def test_the_deployer_may_call_every_create_call_of_every_stacks_graph(
    stack_graphs: Callable[[str], Graph], stack_name: str
) -> None:
    graph = stack_graphs(stack_name)
    deployer = op.policies(operator_stack(graph))["deployer.json"]
    missing = set()
    for resource in graph:
        if resource.type in API_CALLS:
            call = API_CALLS[resource.type]
            action = f"{grants.IAM_PREFIXES.get(call.service, call.service)}:{call.operations[0]}"
            missing |= set() if allowing(deployer, action) else {f"{resource.type}: {action}"}
    assert not missing, sorted(missing)
    for role in graph.of_type(grants.ROLE):
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role.inputs['name']}"
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole"):
            assert allowing(deployer, action, arn), (action, arn)


def test_the_deployer_covers_every_service_prefix(recorded_graph: Graph) -> None:
    deployer = op.policies(operator_stack(recorded_graph))["deployer.json"]
    prefixes = {a.split(":")[0] for a in actions_of(deployer)}
    assert op.service_prefixes(recorded_graph) <= prefixes
    assert "elasticloadbalancing" in prefixes and "elbv2" not in prefixes


class _InvokeRecorder(PlaceholderMocks):
    def __init__(self) -> None:
        self.tokens: set[str] = set()

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.tokens.add(args.token)
        return super().call(args)


@pytest.mark.parametrize("config", [VALID_CONFIG, EVERYTHING], ids=["default", "everything"])
def test_the_deployer_may_read_what_the_programs_data_sources_read(config: dict[str, str]) -> None:
    mocks = _InvokeRecorder()
    graph = record_program(config, stack="test", monitor=RecordingMonitor(mocks))
    assert mocks.tokens and mocks.tokens <= set(grants.INVOKE_ACTIONS), mocks.tokens
    deployer = op.policies(operator_stack(graph))["deployer.json"]
    for token in mocks.tokens:
        for action in op._statement("Read", grants.INVOKE_ACTIONS[token], "*")["Action"]:
            assert allowing(deployer, action), (token, action)


def test_iam_only_on_the_stacks_roles(stack_graphs: Callable[[str], Graph]) -> None:
    graph = stack_graphs("everything")
    deployer = op.policies(operator_stack(graph))["deployer.json"]
    roles = {f"arn:aws:iam::{ACCOUNT}:role/{r.inputs['name']}" for r in graph.of_type(grants.ROLE)}
    linked = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*"
    for statement in statements_of(deployer):
        if statement["Sid"] == "ReadTheDeployersRole":
            # get_session_context reads the deploying role, whichever it is: a read, no more.
            assert statement["Action"] == ["iam:GetRole"]
            assert statement["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/*"]
            continue
        if any(a.startswith("iam:") for a in statement["Action"]):
            assert not [a for a in statement["Action"] if not a.startswith("iam:")]
            assert set(statement["Resource"]) <= roles | {linked}, statement["Sid"]
    assert not allowing(deployer, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert not allowing(deployer, "iam:CreateUser") and not allowing(deployer, "iam:CreatePolicy")


def test_pass_role_only_to_the_service_each_role_trusts(
    stack_graphs: Callable[[str], Graph],
) -> None:
    graph = stack_graphs("everything")
    deployer = op.policies(operator_stack(graph))["deployer.json"]
    passed: dict[str, list[str]] = {}
    for statement in statements_of(deployer):
        if "iam:PassRole" in statement["Action"]:
            services = statement["Condition"]["StringEquals"]["iam:PassedToService"]
            passed |= {arn.rsplit("/", 1)[-1]: services for arn in statement["Resource"]}
    suffix = f"-{SUFFIX}"
    assert passed == {
        f"ecs-task-execution-role{suffix}": ["ecs-tasks.amazonaws.com"],
        f"ecs-task-role{suffix}": ["ecs-tasks.amazonaws.com"],
        f"ecs-migrations-execution-role{suffix}": ["ecs-tasks.amazonaws.com"],
        f"ecs-keys-execution-role{suffix}": ["ecs-tasks.amazonaws.com"],
        f"db-migrate-role{suffix}": ["lambda.amazonaws.com"],
        f"vpc-flow-logs-role{suffix}": ["vpc-flow-logs.amazonaws.com"],
        f"aurora-monitoring-role{suffix}": ["monitoring.rds.amazonaws.com"],
        f"db-password-rotation-role{suffix}": ["lambda.amazonaws.com"],
        f"origin-header-rotation-role{suffix}": ["lambda.amazonaws.com"],
        f"cloudtrail-logs-role{suffix}": ["cloudtrail.amazonaws.com"],
        f"config-recorder-role{suffix}": ["config.amazonaws.com"],
        f"log-archive-firehose-role{suffix}": ["firehose.amazonaws.com"],
        # The trust names the regional principal; PassRole is checked with the global one.
        f"log-archive-logs-role{suffix}": ["logs.amazonaws.com", "logs.us-east-1.amazonaws.com"],
    }


@pytest.mark.parametrize(
    ("stack_name", "policy_arns", "services"),
    [
        (
            "self-signed",
            ["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
            ["ecs", "elasticloadbalancing", "rds", "ecs.application-autoscaling"],
        ),
        (
            "everything",
            [
                "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole",
                "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            ],
            [
                "ecs",
                "elasticloadbalancing",
                "guardduty",
                "rds",
                "securityhub",
                "ecs.application-autoscaling",
            ],
        ),
    ],
)
def test_only_the_graphs_managed_policies_and_service_linked_roles(
    stack_graphs: Callable[[str], Graph],
    stack_name: str,
    policy_arns: list[str],
    services: list[str],
) -> None:
    deployer = op.policies(operator_stack(stack_graphs(stack_name)))["deployer.json"]
    by_sid = {s["Sid"]: s for s in statements_of(deployer)}
    attach = by_sid["AttachTheGraphsManagedPolicies"]
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == policy_arns
    assert allowing(deployer, "iam:AttachRolePolicy") == ["AttachTheGraphsManagedPolicies"]
    linked = by_sid["ServiceLinkedRoles"]["Condition"]["StringEquals"]["iam:AWSServiceName"]
    assert linked == sorted(f"{s}.amazonaws.com" for s in services)


def test_every_deployer_statement_but_the_states_is_held_to_us_east_1(
    policies: dict[str, op.Policy],
) -> None:
    for statement in statements_of(policies["deployer.json"]):
        region = statement.get("Condition", {}).get("StringEquals", {}).get("aws:RequestedRegion")
        assert region == ("us-east-1" if not statement["Sid"].startswith("State") else None)


def test_s3_and_secrets_only_on_the_stacks_own(policies: dict[str, op.Policy]) -> None:
    deployer = policies["deployer.json"]
    assert allowing(deployer, "s3:DeleteBucket", f"arn:aws:s3:::alb-logs-{SUFFIX}")
    assert not allowing(deployer, "s3:DeleteBucket", "arn:aws:s3:::someone-elses")
    for role in ("master", "app", "keys"):
        secret = (
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-{role}-credentials-{SUFFIX}"
            "-a1B2c3"
        )
        assert allowing(deployer, "secretsmanager:PutSecretValue", secret), role
    other = secret.replace(f"db-{role}-credentials", "other-app")
    assert not allowing(deployer, "secretsmanager:GetSecretValue", other)


# -- the state backend ------------------------------------------------------------------------


def test_the_state_backend_is_written_by_the_deployer_and_only_read_by_the_verifier(
    policies: dict[str, op.Policy],
) -> None:
    objects = "arn:aws:s3:::org-pulumi-state/payments/.pulumi/stacks/payments/test.json"
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    deployer, verifier = policies["deployer.json"], policies["verifier.json"]
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert allowing(deployer, action, objects)
    assert "StateKey" in allowing(deployer, "kms:Decrypt", key)  # kms:* also, in us-east-1
    assert allowing(verifier, "s3:GetObject", objects)
    assert not allowing(verifier, "s3:PutObject", objects)
    assert allowing(verifier, "kms:DescribeKey", key)
    assert not allowing(verifier, "kms:Decrypt"), "the state key opens every secret of the stack"
    (state_key,) = [s for s in statements_of(deployer) if s["Sid"] == "StateKey"]
    assert state_key["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/pulumi-state"]}
    }
    assert not allowing(deployer, "s3:PutObject", "arn:aws:s3:::org-pulumi-state/other/x")


def test_a_local_backend_needs_no_state_permission(recorded_graph: Graph) -> None:
    local = Backend("file://./.pulumi-state", "Pulumi.yaml backend.url")
    for policy in op.policies(operator_stack(recorded_graph, backend=local)).values():
        assert not [s for s in statements_of(policy) if s["Sid"].startswith("State")]


@pytest.mark.parametrize(
    ("provider", "arn", "condition"),
    [
        ("awskms://alias/pulumi-state?region=us-east-1", "key/*", True),
        ("awskms://1234abcd-12ab?region=us-east-1", "key/1234abcd-12ab", False),
        (f"awskms://arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd?region=us-east-1", "", False),
        ("passphrase", None, False),
        (None, None, False),
    ],
)
def test_the_state_key_comes_from_the_secrets_provider(
    provider: str | None, arn: str | None, condition: bool
) -> None:
    found = op.state_key(provider, ACCOUNT)
    if arn is None:
        assert found is None
        return
    assert found is not None
    assert found[0].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:") and found[0].endswith(arn)
    assert bool(found[1]) is condition
