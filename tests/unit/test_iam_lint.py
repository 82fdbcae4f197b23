"""Every IAM policy document of the program, linted by parliament (offline/iam_lint.py).

Clean on every test stack; each kind of finding caught on a graph broken on purpose; each
justification needed (without its row, its finding fails); no policy document left unlinted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.offline import iam_lint
from payments_infra.offline.checks_conventions import args_fields
from payments_infra.offline.graph import Graph, Resource, SecretValue, revealed
from payments_infra.offline.iam_lint import (
    JUSTIFIED,
    check_iam_documents,
    documents_of,
    lint_iam_documents,
)
from tests.stacks import TEST_STACKS

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"


@pytest.fixture(params=sorted(TEST_STACKS))
def stack(request: pytest.FixtureRequest, stack_graphs: Callable[[str], Graph]) -> Graph:
    """Each test stack (tests/stacks.py): every certificate mode and optional part."""
    return stack_graphs(request.param)


def resource(graph: Graph, type_token: str, name: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_token) if r.name == name]
    return found


def edit(
    graph: Graph, type_token: str, name: str, change: Callable[[list[dict[str, Any]]], None]
) -> None:
    """Change the statements of a resource's policy document in place (a private graph)."""
    target = resource(graph, type_token, name)
    key = iam_lint.DOCUMENT_INPUTS[type_token][0]
    document = json.loads(target.inputs[key])
    change(document["Statement"])
    target.inputs[key] = json.dumps(document)


def by_sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (statement,) = [s for s in statements if s.get("Sid") == sid]
    return statement


def problems_about(graph: Graph, name: str) -> list[str]:
    return [p for p in check_iam_documents(graph) if f" {name} " in p]


# The real program


def test_no_unjustified_finding_on_any_test_stack(stack: Graph) -> None:
    assert check_iam_documents(stack) == []


def test_every_kind_of_document_the_program_has_is_linted(stack: Graph) -> None:
    report = lint_iam_documents(stack)
    assert {"trust policy", "inline policy", "key policy", "bucket policy"} <= set(report.kinds)
    assert report.documents == sum(report.kinds.values())
    assert report.documents == len([d for r in stack for d in documents_of(r)])


def _policy_paths(value: Any, path: str = "") -> list[str]:
    """Input paths whose value is a policy document (a JSON object with a "Statement")."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    if isinstance(value, dict):
        own = [path] if "Statement" in value else []
        return own + [p for k, v in value.items() for p in _policy_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _policy_paths(v, f"{path}[{i}]")]
    return []


def test_no_policy_document_in_the_graph_escapes_the_lint(stack: Graph) -> None:
    """A resource type added later with a policy input must be added to DOCUMENT_INPUTS."""
    for r in stack:
        held = {p.lstrip(".") for p in _policy_paths(revealed(r.inputs))}
        assert held == {path for path, _, _ in documents_of(r)}, r.name


def test_the_document_inputs_are_inputs_pulumi_aws_has() -> None:
    for type_token, (key, _) in iam_lint.DOCUMENT_INPUTS.items():
        assert re.sub(r"([A-Z])", r"_\1", key).lower() in args_fields(type_token), type_token


def test_placeholder_arns_are_linted_in_their_real_shape(recorded_graph: Graph) -> None:
    policy = resource(recorded_graph, ROLE_POLICY, "api-execution-policy").inputs["policy"]
    assert "arn:aws:secretsmanager:us-east-1:123456789012:database-app-credentials-id" in policy
    shaped = json.dumps(iam_lint._Shaper(recorded_graph)(json.loads(policy)))
    assert "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-app-credentials-" in shaped
    assert "arn:aws:kms:us-east-1:123456789012:key/placeholder-key-id" in shaped
    assert '"arn:aws:ecr:us-east-1:123456789012:repository/api-' in shaped


def test_a_document_given_as_an_object_or_a_secret_is_linted_too(graph: Graph) -> None:
    policy = resource(graph, ROLE_POLICY, "api-task-policy")
    document = json.loads(policy.inputs["policy"])
    document["Statement"][0]["Action"] = ["s3:GetObjekt"]
    policy.inputs["policy"] = SecretValue(document)
    documents = lint_iam_documents(graph).documents
    assert documents == lint_iam_documents(graph.without(policy.urn)).documents + 1
    (problem,) = problems_about(graph, "api-task-policy")
    assert "UNKNOWN_ACTION" in problem


def test_a_placeholder_of_a_type_without_a_shape_is_reported(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    shapes = dict(iam_lint.ARN_SHAPES)
    del shapes["aws:s3/bucket:Bucket"]
    monkeypatch.setattr(iam_lint, "ARN_SHAPES", shapes)
    problems = problems_about(graph, "frontend-bucket-policy")
    assert any(
        "PLACEHOLDER_ARN" in p and "frontend-bucket-id (of a aws:s3/bucket:Bucket)" in p
        for p in problems
    ), problems


def test_the_managed_policies_attached_are_listed_not_linted(recorded_graph: Graph) -> None:
    assert lint_iam_documents(recorded_graph).managed_policies == [
        (
            "aurora-monitoring-role-test1",
            "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )
    ]


# Each kind of finding, on a graph broken on purpose


def test_an_unknown_action_is_caught(graph: Graph) -> None:
    edit(
        graph,
        ROLE_POLICY,
        "alb-access-logs-forwarder-policy",
        lambda s: by_sid(s, "ReadAlbLogFiles").update(Action=["s3:GetObjekt"]),
    )
    (problem,) = problems_about(graph, "alb-access-logs-forwarder-policy")
    assert "statement ReadAlbLogFiles: UNKNOWN_ACTION" in problem
    assert "s3:GetObjekt" in problem


def test_an_object_action_on_a_bucket_arn_is_caught(graph: Graph) -> None:
    def on_the_bucket(statements: list[dict[str, Any]]) -> None:
        statement = by_sid(statements, "ReadAlbLogFiles")
        statement["Resource"] = [statement["Resource"][0].split("/", 1)[0]]  # no /key

    edit(graph, ROLE_POLICY, "alb-access-logs-forwarder-policy", on_the_bucket)
    (problem,) = problems_about(graph, "alb-access-logs-forwarder-policy")
    assert "RESOURCE_MISMATCH" in problem
    assert "s3:GetObject needs a resource like arn:*:s3:::*/*" in problem
    assert "arn:aws:s3:::alb-logs-test1']" in problem  # the bucket, in its real shape


def test_an_unknown_condition_key_is_caught(graph: Graph) -> None:
    def misspelt(statements: list[dict[str, Any]]) -> None:
        condition = by_sid(statements, "DecryptDatabaseSecret")["Condition"]["StringEquals"]
        condition["kms:ViaServce"] = condition.pop("kms:ViaService")

    edit(graph, ROLE_POLICY, "api-task-policy", misspelt)
    problems = problems_about(graph, "api-task-policy")
    assert problems
    assert all("UNKNOWN_CONDITION_FOR_ACTION" in p and "kms:ViaServce" in p for p in problems)


def test_an_unknown_action_in_a_trust_policy_is_caught(graph: Graph) -> None:
    edit(graph, ROLE, "api-task-role", lambda s: s[0].update(Action="sts:AssumeRol"))
    (problem,) = problems_about(graph, "api-task-role")
    assert "trust policy, statement 1: UNKNOWN_ACTION" in problem
    assert "sts:AssumeRol" in problem


def test_a_trust_policy_granting_what_no_role_takes_is_caught(graph: Graph) -> None:
    """Trust statements are linted against the role: an object action does not fit it."""
    edit(graph, ROLE, "api-task-role", lambda s: s[0].update(Action=["s3:GetObject"]))
    (problem,) = problems_about(graph, "api-task-role")
    assert "RESOURCE_MISMATCH" in problem
    assert "s3:GetObject needs a resource like arn:*:s3:::*/*" in problem


def test_an_unknown_principal_in_a_trust_policy_is_caught(graph: Graph) -> None:
    edit(
        graph,
        ROLE,
        "api-task-role",
        lambda s: s[0].update(Principal={"Servic": "ecs-tasks.amazonaws.com"}),
    )
    (problem,) = problems_about(graph, "api-task-role")
    assert "UNKNOWN_PRINCIPAL" in problem
    assert '"Servic": "ecs-tasks.amazonaws.com"' in problem


@pytest.mark.parametrize(
    ("type_token", "name", "change", "issue"),
    [
        (ROLE, "api-task-role", lambda s: s[0].pop("Principal"), "PRINCIPAL_MISSING"),
        (ROLE, "api-task-role", lambda s: s[0].update(Resource="*"), "RESOURCE_NOT_ALLOWED"),
        (
            BUCKET_POLICY,
            "frontend-bucket-policy",
            lambda s: s[1].pop("Principal"),
            "PRINCIPAL_MISSING",
        ),
        (
            ROLE_POLICY,
            "api-task-policy",
            lambda s: s[0].update(Principal={"AWS": "arn:aws:iam::123456789012:root"}),
            "PRINCIPAL_NOT_ALLOWED",
        ),
    ],
)
def test_what_the_kind_of_a_document_forbids_is_caught(
    graph: Graph,
    type_token: str,
    name: str,
    change: Callable[[list[dict[str, Any]]], None],
    issue: str,
) -> None:
    edit(graph, type_token, name, change)
    assert any(f": {issue} (" in p for p in problems_about(graph, name))


def test_a_malformed_document_is_caught(graph: Graph) -> None:
    resource(graph, ROLE_POLICY, "api-task-policy").inputs["policy"] = '{"Version": '
    (problem,) = problems_about(graph, "api-task-policy")
    assert "MALFORMED_JSON" in problem


def test_the_key_policy_justification_does_not_reach_identity_policies(graph: Graph) -> None:
    edit(graph, ROLE_POLICY, "api-task-policy", lambda s: s[0].update(Resource="*"))
    (problem,) = problems_about(graph, "api-task-policy")
    assert "RESOURCE_STAR" in problem
    assert "secretsmanager:GetSecretValue on Resource *" in problem


# The justifications


@pytest.mark.parametrize("row", JUSTIFIED, ids=lambda row: f"{row.where}-{row.issue}")
def test_each_justified_finding_fails_without_its_row(
    stack_graphs: Callable[[str], Graph], row: iam_lint.Justification
) -> None:
    # The stack with every optional part: the origin header's rotation role exists only
    # where CloudFront routes /api to the ALB.
    graph = stack_graphs("everything")
    report = lint_iam_documents(graph)
    assert any(f.reason == row.reason for f in report.justified)
    assert report.findings == []
    without = lint_iam_documents(graph, [r for r in JUSTIFIED if r != row])
    assert without.findings
    assert {f.issue for f in without.findings} == {row.issue}
    assert all(row.where in (f.resource.name, f.kind) for f in without.findings)


def test_justified_findings_say_why(recorded_graph: Graph) -> None:
    justified = lint_iam_documents(recorded_graph).justified
    assert justified
    for finding in justified:
        assert finding.sentence.endswith(f"(justified: {finding.reason})")
