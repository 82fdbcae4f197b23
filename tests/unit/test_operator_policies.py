"""The operators' IAM policies (operator_policies.py): each file linted by parliament, wildcards
only where operator_grants.WILDCARDS says why, and what the generator refuses and writes.

What each policy allows is held to what its operator does, one file each:
test_operator_policies_deployer.py (the graph's services, the stack's own IAM roles, the state
backend), test_operator_policies_verifier.py (the live tests' read calls) and
test_operator_policies_key_operator.py (the API's key task)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from payments_infra.offline import operator_grants as grants
from payments_infra.offline import operator_policies as op
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.iam_lint import lint_iam_documents
from tests.operator_policy_queries import (
    operator_stack,
    statements_of,
)
from tests.stacks import SUFFIX, TEST_STACKS

FILES = ("deployer.json", "verifier.json", "key-operator.json")
# parliament's findings we accept, by (file, statement, issue), and why.
ACCEPTED = {
    ("deployer.json", "GraphServices", "RESOURCE_STAR"): (
        "the wildcard statement (operator_grants.WILDCARDS says why): its create calls take "
        "no resource, and the ids of what it makes are not known before"
    ),
    ("deployer.json", "StackBuckets", "RESOURCE_MISMATCH"): (
        "s3:* also holds actions on access points, batch jobs, Storage Lens...: on the "
        "stack's bucket ARNs they match nothing, so they grant nothing"
    ),
    ("deployer.json", "StackSecrets", "RESOURCE_MISMATCH"): (
        "ListSecrets, GetRandomPassword and BatchGetSecretValue take Resource * only: on the "
        "stack's secret ARNs they grant nothing"
    ),
    ("deployer.json", "ProviderDataSources", "RESOURCE_STAR"): (
        "ec2:GetManagedPrefixListEntries reads AWS's own prefix lists (CloudFront's, S3's), "
        "whose ids the program learns from this very call"
    ),
    # parliament 1.6.4 looks a condition key up among the action's own keys only; the Service
    # Authorization Reference lists kms:ResourceAliases on the KMS key resource type, which
    # these actions act on (test_kms_resource_aliases_is_a_key_condition).
    ("deployer.json", "StateKey", "UNKNOWN_CONDITION_FOR_ACTION"): "kms:ResourceAliases",
    ("verifier.json", "StateKey", "UNKNOWN_CONDITION_FOR_ACTION"): "kms:ResourceAliases",
    ("verifier.json", "ListTasks", "RESOURCE_STAR"): (
        "ListTasks of a whole cluster is authorised on Resource *, with ecs:cluster holding it "
        "to the stack's cluster (a container-instance ARN only lists one instance's tasks: "
        "cdklabs/construct-hub#1207)"
    ),
}


def _findings(name: str, policy: op.Policy) -> list[tuple[tuple[str, str, str], str]]:
    """parliament's findings on ``policy`` (through iam_lint's glue, as a managed policy), each
    with its (file, statement, issue)."""
    document = Resource(
        urn=f"urn:{name}",
        type="aws:iam/policy:Policy",
        name=name,
        custom=True,
        parent="",
        provider="",
        inputs={"policy": json.dumps(policy)},
        id=f"{name}-id",
    )
    report = lint_iam_documents(Graph([document], {}))
    assert report.documents == 1
    return [
        ((name, f.statement.removeprefix("statement "), f.issue), f.sentence)
        for f in [*report.findings, *report.justified]
    ]


def _lint(name: str, policy: op.Policy) -> list[str]:
    """The findings ACCEPTED does not accept."""
    return [sentence for key, sentence in _findings(name, policy) if key not in ACCEPTED]


@pytest.mark.parametrize("stack_name", sorted(TEST_STACKS))
def test_every_document_of_every_stack_is_linted_clean_by_parliament(
    stack_graphs: Callable[[str], Graph], stack_name: str
) -> None:
    written = op.policies(operator_stack(stack_graphs(stack_name), account="*"))
    assert sorted(written) == sorted(FILES)
    found = [finding for name, policy in written.items() for finding in _lint(name, policy)]
    assert not found, "\n".join(found)


def test_every_accepted_finding_still_occurs(stack_graphs: Callable[[str], Graph]) -> None:
    written = op.policies(operator_stack(stack_graphs("everything")))
    found = {key for name, policy in written.items() for key, _ in _findings(name, policy)}
    assert set(ACCEPTED) <= found, sorted(set(ACCEPTED) - found)


def test_kms_resource_aliases_is_a_key_condition() -> None:
    import parliament  # type: ignore[import-untyped]  # noqa: PLC0415

    (kms,) = [s for s in parliament.iam_definition if s["prefix"] == "kms"]
    (key,) = [r for r in kms["resources"] if r["resource"] == "key"]
    assert "kms:ResourceAliases" in key["condition_keys"]


def test_the_lint_sees_a_misspelt_action(policies: dict[str, op.Policy]) -> None:
    broken = json.loads(json.dumps(policies["key-operator.json"]))
    broken["Statement"][0]["Action"] = ["ecs:DescribeService"]
    assert any("UNKNOWN_ACTION" in finding for finding in _lint("key-operator.json", broken))


@pytest.mark.parametrize("name", FILES)
def test_a_wildcard_action_only_where_wildcards_says_why(
    policies: dict[str, op.Policy], name: str
) -> None:
    wild = {(s["Sid"], a) for s in statements_of(policies[name]) for a in s["Action"] if "*" in a}
    allowed = set(grants.WILDCARDS) if name == "deployer.json" else set()
    assert {sid for sid, _ in wild} <= allowed, sorted(wild)
    assert all(grants.WILDCARDS[sid].strip() for sid, _ in wild)
    assert not [s for s in statements_of(policies[name]) if s["Effect"] != "Allow"]


# -- the generator ----------------------------------------------------------------------------


def test_a_type_the_policies_were_not_written_for_is_refused(graph: Graph) -> None:
    managed = Resource("urn:x", "aws:iam/policy:Policy", "x", True, "", "", {"name": "x"})
    with pytest.raises(op.PolicyError, match="aws:iam/policy:Policy"):
        op.service_prefixes(Graph([*graph.resources, managed], {}))
    unknown = Resource("urn:y", "aws:foo/bar:Bar", "y", True, "", "", {})
    with pytest.raises(op.PolicyError, match="aws:foo/bar:Bar"):
        op.service_prefixes(Graph([*graph.resources, unknown], {}))


def test_a_renamed_resource_is_refused(graph: Graph) -> None:
    (cluster,) = graph.of_type("aws:ecs/cluster:Cluster")
    cluster.inputs["name"] = "renamed"
    with pytest.raises(op.PolicyError, match=f"ecs-cluster-{SUFFIX}"):
        op.policies(operator_stack(graph))


def test_main_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert op.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    for name in FILES:
        policy = json.loads((tmp_path / name).read_text())
        assert policy["Version"] == "2012-10-17" and policy["Statement"]
    assert "deployer.json" in capsys.readouterr().out
    assert op.main(["--stack", "no such stack"]) == 2
