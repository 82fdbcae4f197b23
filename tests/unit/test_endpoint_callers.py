"""Each interface endpoint has a caller inside the VPC, and nothing in the VPC calls an AWS API
that has none: the table above ``SERVICES`` in components/network/endpoints.py, pinned.

An endpoint bills every hour in every zone (docs/cost.md), so one without a caller is money for
nothing; a caller without its endpoint times out (the tasks may send only to the endpoints).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from payments_infra import REPO_ROOT
from payments_infra.components.network import endpoints
from payments_infra.components.network.endpoints import ENDPOINT_CALLERS, SERVICES
from payments_infra.offline.graph import Graph, Resource

TASK_DEFINITIONS = "payments_infra/components/api/task_definition.py"
# Who calls each endpoint from the private subnets: (who, file, what in it shows the call).
CALLERS: dict[str, list[tuple[str, str, str]]] = {
    "ecr.api": [
        ("the Fargate agent's ECR login before a pull", TASK_DEFINITIONS, '"AuthenticateToEcr"'),
    ],
    "ecr.dkr": [
        ("the Fargate agent pulling the task's image", TASK_DEFINITIONS, '"ecr:BatchGetImage"'),
    ],
    "logs": [
        ("the awslogs driver of every task", TASK_DEFINITIONS, '"logDriver": "awslogs"'),
    ],
    "secretsmanager": [
        ("the Fargate agent injecting the secrets", TASK_DEFINITIONS, '"secrets": ['),
        (
            "the API re-reading its login after a rotation",
            "app/api/payments_api/db_credentials.py",
            'boto3.client("secretsmanager"',
        ),
        (
            "the rotation function, the one VPC Lambda",
            "functions/db_rotation/handler.py",
            'boto3.client("secretsmanager")',
        ),
    ],
}
# No endpoint, and why: no call from the VPC.
NOT_BUILT = {
    "kms": "Secrets Manager (and Logs, ECR, RDS) decrypt with their keys on their own side",
    "sts": "ECS and Lambda hand out the roles' credentials themselves (169.254.170.2)",
}
# Where code that runs in the private subnets lives: the API's image (its service and one-off
# tasks) and the rotation function.
VPC_CODE = ["app/api/payments_api", "functions/db_rotation"]
CLIENT = re.compile(r"""\b(?:client|resource)\(\s*["']([\w.-]+)["']""")
# What an IAM action's service needs for an endpoint, for the actions the tasks' roles hold.
ENDPOINTS_OF = {
    "ecr": {"ecr.api", "ecr.dkr"},
    "logs": {"logs"},
    "secretsmanager": {"secretsmanager"},
}
# What Lambda does with a VPC function's role outside the function's code: its network
# interfaces (ec2), its log stream (logs), and the X-Ray segments of active tracing (whether
# Lambda's daemon sends them through the function's interfaces AWS does not document; the stack
# has never had an X-Ray endpoint).
LAMBDA_ITSELF = {"ec2", "logs", "xray"}


def test_every_endpoint_built_has_a_caller_in_the_vpc() -> None:
    assert set(CALLERS) == set(SERVICES)
    for service, callers in CALLERS.items():
        assert callers, service
        for who, path, evidence in callers:
            assert evidence in (REPO_ROOT / path).read_text(), f"{service}: {who} ({path})"


def test_kms_and_sts_have_no_endpoint_and_the_code_says_why() -> None:
    assert not set(NOT_BUILT) & set(SERVICES)
    source = Path(endpoints.__file__).read_text()
    comment = source[: source.index("SERVICES = (")]
    for service in [*SERVICES, *NOT_BUILT]:
        # The table above SERVICES: one "- service:" entry each, naming its caller or reason.
        assert re.search(rf"^# - {re.escape(service)}: \S", comment, re.M), service


def test_the_code_that_runs_in_the_vpc_makes_clients_of_endpoint_services_only() -> None:
    made: dict[str, set[str]] = {}
    for folder in VPC_CODE:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for service in CLIENT.findall(path.read_text()):
                made.setdefault(service, set()).add(path.relative_to(REPO_ROOT).as_posix())

    assert set(made) == {"secretsmanager"}, made
    assert set(made) <= set(SERVICES)
    assert not set(made) & set(NOT_BUILT)


def _statements(graph: Graph, role: Resource) -> list[dict[str, Any]]:
    """The statements of a role's inline policies (the stack's roles have one, no managed
    policy: checked)."""
    policies = [
        p for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    ]
    attached = [
        a
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] in (role.id, role.physical_name)
    ]
    assert policies and not attached, role.name
    return [s for p in policies for s in json.loads(str(p.inputs["policy"]))["Statement"]]


def _role(graph: Graph, arn: str) -> Resource:
    return next(r for r in graph.of_type("aws:iam/role:Role") if r.outputs.get("arn") == arn)


def _vpc_roles(graph: Graph) -> tuple[list[Resource], list[Resource]]:
    """The roles whose calls leave from the private subnets: the tasks' (task and execution
    roles; every task definition is Fargate's, in the VPC) and the VPC functions'."""
    tasks = [
        _role(graph, str(task.inputs[key]))
        for task in graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
        for key in ("taskRoleArn", "executionRoleArn")
        if task.inputs.get(key)
    ]
    functions = [
        _role(graph, str(function.inputs["role"]))
        for function in graph.of_type("aws:lambda/function:Function")
        if function.inputs.get("vpcConfig")
    ]
    return tasks, functions


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_no_role_used_in_the_vpc_calls_sts_or_kms_but_through_a_service(
    recorded_graph: Graph,
) -> None:
    tasks, functions = _vpc_roles(recorded_graph)
    assert tasks and functions

    for role in {r.urn: r for r in [*tasks, *functions]}.values():
        for statement in _statements(recorded_graph, role):
            for action in _actions(statement):
                assert not action.startswith("sts:"), (role.name, action)
                if action.startswith("kms:"):
                    via = statement.get("Condition", {}).get("StringEquals", {})
                    assert "kms:ViaService" in via, (role.name, action)


def test_what_the_roles_in_the_vpc_may_call_is_what_the_endpoints_serve(
    recorded_graph: Graph,
) -> None:
    tasks, functions = _vpc_roles(recorded_graph)
    needed: set[str] = set()
    for role, skipped in [*((r, set()) for r in tasks), *((r, LAMBDA_ITSELF) for r in functions)]:
        for statement in _statements(recorded_graph, role):
            for action in _actions(statement):
                prefix = action.split(":", 1)[0]
                if prefix == "kms" or prefix in skipped:  # kms: by a service (test above)
                    continue
                assert prefix in ENDPOINTS_OF, (role.name, action)
                needed |= ENDPOINTS_OF[prefix]

    assert needed == set(SERVICES)


def test_each_endpoints_group_is_opened_to_the_clients_the_table_names() -> None:
    # The rotation function calls Secrets Manager only (its one client, above); everything else
    # the table names runs in the API's tasks. ENDPOINT_CALLERS opens exactly those arrows.
    rotation = {s for s, callers in CALLERS.items() for who, *_ in callers if "rotation" in who}
    assert rotation == {"secretsmanager"}
    assert ENDPOINT_CALLERS == {"api-tasks": SERVICES, "db-rotation": tuple(sorted(rotation))}
