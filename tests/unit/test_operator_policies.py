"""The operators' IAM policies (operator_policies.py): linted by parliament, and each held to
what its operator does: the deployer to the graph's services and the stack's own IAM roles,
the verifier to the live tests' read calls, the key operator to the API's task."""

from __future__ import annotations

import ast
import fnmatch
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline import operator_grants as grants
from payments_infra.offline import operator_policies as op
from payments_infra.offline.api_calls import API_CALLS
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.iam_lint import lint_iam_documents
from payments_infra.offline.mocks import PlaceholderMocks, RecordingMonitor, record_program
from payments_infra.offline.state_backend import Backend
from tests.graph_queries import task_definition
from tests.stacks import EVERYTHING, SUFFIX, TEST_STACKS, VALID_CONFIG

ACCOUNT = "123456789012"
S3_BACKEND = Backend("s3://org-pulumi-state/payments?region=us-east-1", "PULUMI_BACKEND_URL")
KMS_ALIAS = "awskms://alias/pulumi-state?region=us-east-1"
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
VERIFIER_READ_VERBS = ("Describe", "Get", "List", "Filter")
WRITE_VERBS = (
    *("Create", "Delete", "Put", "Update", "Modify", "Attach", "Detach", "Run", "Start"),
    *("Stop", "Tag", "Untag", "Register", "Deregister", "Associate", "Disassociate", "Set"),
    *("Authorize", "Revoke", "Pass", "Invoke", "Publish", "Send", "Enable", "Disable"),
    *("Rotate", "Restore", "Reboot", "Add", "Remove", "Replace", "Encrypt", "Decrypt"),
    *("Generate", "Import"),
)


def _stack(graph: Graph, account: str = ACCOUNT, backend: Backend | None = S3_BACKEND) -> op.Stack:
    return op.Stack(graph, SUFFIX, account, backend, KMS_ALIAS if backend else None)


@pytest.fixture(scope="module")
def policies(recorded_graph: Graph) -> dict[str, op.Policy]:
    return op.policies(_stack(recorded_graph))


def _statements(policy: op.Policy) -> Iterator[dict[str, Any]]:
    yield from policy["Statement"]


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _allowing(policy: op.Policy, action: str, resource: str | None = None) -> list[str]:
    """The statements of ``policy`` that allow ``action`` (on ``resource``, when given)."""
    return [
        s["Sid"]
        for s in _statements(policy)
        if _matches(s["Action"], action) and (resource is None or _matches(s["Resource"], resource))
    ]


def _actions(policy: op.Policy) -> set[str]:
    return {action for s in _statements(policy) for action in s["Action"]}


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


# -- every policy ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", sorted(TEST_STACKS))
def test_every_document_of_every_stack_is_linted_clean_by_parliament(
    stack_graphs: Callable[[str], Graph], stack_name: str
) -> None:
    written = op.policies(_stack(stack_graphs(stack_name), account="*"))
    assert sorted(written) == sorted(FILES)
    found = [finding for name, policy in written.items() for finding in _lint(name, policy)]
    assert not found, "\n".join(found)


def test_every_accepted_finding_still_occurs(stack_graphs: Callable[[str], Graph]) -> None:
    written = op.policies(_stack(stack_graphs("everything")))
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
    wild = {(s["Sid"], a) for s in _statements(policies[name]) for a in s["Action"] if "*" in a}
    allowed = set(grants.WILDCARDS) if name == "deployer.json" else set()
    assert {sid for sid, _ in wild} <= allowed, sorted(wild)
    assert all(grants.WILDCARDS[sid].strip() for sid, _ in wild)
    assert not [s for s in _statements(policies[name]) if s["Effect"] != "Allow"]


# -- the deployer -----------------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", sorted(TEST_STACKS))
def test_the_deployer_may_call_every_create_call_of_every_stacks_graph(
    stack_graphs: Callable[[str], Graph], stack_name: str
) -> None:
    graph = stack_graphs(stack_name)
    deployer = op.policies(_stack(graph))["deployer.json"]
    missing = set()
    for resource in graph:
        if resource.type in API_CALLS:
            call = API_CALLS[resource.type]
            action = f"{op.IAM_PREFIXES.get(call.service, call.service)}:{call.operations[0]}"
            missing |= set() if _allowing(deployer, action) else {f"{resource.type}: {action}"}
    assert not missing, sorted(missing)
    for role in graph.of_type(op.ROLE):
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role.inputs['name']}"
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole"):
            assert _allowing(deployer, action, arn), (action, arn)


def test_the_deployer_covers_every_service_prefix(recorded_graph: Graph) -> None:
    deployer = op.policies(_stack(recorded_graph))["deployer.json"]
    prefixes = {a.split(":")[0] for a in _actions(deployer)}
    assert op.service_prefixes(recorded_graph) <= prefixes
    assert "elasticloadbalancing" in prefixes and "elbv2" not in prefixes


class _InvokeRecorder(PlaceholderMocks):
    def __init__(self) -> None:
        self.tokens: set[str] = set()

    def call(self, args: Any) -> tuple[dict[str, Any], list[Any]]:
        self.tokens.add(args.token)
        return super().call(args)


@pytest.mark.parametrize("config", [VALID_CONFIG, EVERYTHING], ids=["default", "everything"])
def test_the_deployer_may_read_what_the_programs_data_sources_read(config: dict[str, str]) -> None:
    mocks = _InvokeRecorder()
    graph = record_program(config, stack="test", monitor=RecordingMonitor(mocks))
    assert mocks.tokens and mocks.tokens <= set(op.INVOKE_ACTIONS), mocks.tokens
    deployer = op.policies(_stack(graph))["deployer.json"]
    for token in mocks.tokens:
        for action in op._statement("Read", op.INVOKE_ACTIONS[token], "*")["Action"]:
            assert _allowing(deployer, action), (token, action)


def test_iam_only_on_the_stacks_roles(stack_graphs: Callable[[str], Graph]) -> None:
    graph = stack_graphs("everything")
    deployer = op.policies(_stack(graph))["deployer.json"]
    roles = {f"arn:aws:iam::{ACCOUNT}:role/{r.inputs['name']}" for r in graph.of_type(op.ROLE)}
    linked = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/*"
    for statement in _statements(deployer):
        if any(a.startswith("iam:") for a in statement["Action"]):
            assert not [a for a in statement["Action"] if not a.startswith("iam:")]
            assert set(statement["Resource"]) <= roles | {linked}, statement["Sid"]
    assert not _allowing(deployer, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert not _allowing(deployer, "iam:CreateUser") and not _allowing(deployer, "iam:CreatePolicy")


def test_pass_role_only_to_the_service_each_role_trusts(
    stack_graphs: Callable[[str], Graph],
) -> None:
    graph = stack_graphs("everything")
    deployer = op.policies(_stack(graph))["deployer.json"]
    passed: dict[str, list[str]] = {}
    for statement in _statements(deployer):
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
    deployer = op.policies(_stack(stack_graphs(stack_name)))["deployer.json"]
    by_sid = {s["Sid"]: s for s in _statements(deployer)}
    attach = by_sid["AttachTheGraphsManagedPolicies"]
    assert attach["Condition"]["ArnEquals"]["iam:PolicyARN"] == policy_arns
    assert _allowing(deployer, "iam:AttachRolePolicy") == ["AttachTheGraphsManagedPolicies"]
    linked = by_sid["ServiceLinkedRoles"]["Condition"]["StringEquals"]["iam:AWSServiceName"]
    assert linked == sorted(f"{s}.amazonaws.com" for s in services)


def test_every_deployer_statement_but_the_states_is_held_to_us_east_1(
    policies: dict[str, op.Policy],
) -> None:
    for statement in _statements(policies["deployer.json"]):
        region = statement.get("Condition", {}).get("StringEquals", {}).get("aws:RequestedRegion")
        assert region == ("us-east-1" if not statement["Sid"].startswith("State") else None)


def test_s3_and_secrets_only_on_the_stacks_own(policies: dict[str, op.Policy]) -> None:
    deployer = policies["deployer.json"]
    assert _allowing(deployer, "s3:DeleteBucket", f"arn:aws:s3:::alb-logs-{SUFFIX}")
    assert not _allowing(deployer, "s3:DeleteBucket", "arn:aws:s3:::someone-elses")
    for role in ("master", "app", "keys"):
        secret = (
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-{role}-credentials-{SUFFIX}"
            "-a1B2c3"
        )
        assert _allowing(deployer, "secretsmanager:PutSecretValue", secret), role
    other = secret.replace(f"db-{role}-credentials", "other-app")
    assert not _allowing(deployer, "secretsmanager:GetSecretValue", other)


# -- the state backend ------------------------------------------------------------------------


def test_the_state_backend_is_written_by_the_deployer_and_only_read_by_the_verifier(
    policies: dict[str, op.Policy],
) -> None:
    objects = "arn:aws:s3:::org-pulumi-state/payments/.pulumi/stacks/payments/test.json"
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    deployer, verifier = policies["deployer.json"], policies["verifier.json"]
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert _allowing(deployer, action, objects)
    assert "StateKey" in _allowing(deployer, "kms:Decrypt", key)  # kms:* also, in us-east-1
    assert _allowing(verifier, "s3:GetObject", objects)
    assert not _allowing(verifier, "s3:PutObject", objects)
    assert _allowing(verifier, "kms:DescribeKey", key)
    assert not _allowing(verifier, "kms:Decrypt"), "the state key opens every secret of the stack"
    (state_key,) = [s for s in _statements(deployer) if s["Sid"] == "StateKey"]
    assert state_key["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/pulumi-state"]}
    }
    assert not _allowing(deployer, "s3:PutObject", "arn:aws:s3:::org-pulumi-state/other/x")


def test_a_local_backend_needs_no_state_permission(recorded_graph: Graph) -> None:
    local = Backend("file://./.pulumi-state", "Pulumi.yaml backend.url")
    for policy in op.policies(_stack(recorded_graph, backend=local)).values():
        assert not [s for s in _statements(policy) if s["Sid"].startswith("State")]


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


# -- the verifier -----------------------------------------------------------------------------


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
            calls.add(f"{op.IAM_PREFIXES.get(service, service)}:{operation}")
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
        for s in _statements(policies["verifier.json"])
        if s["Sid"] not in state
        for a in s["Action"]
    }
    assert granted == calls - set(grants.VERIFIER_WITHHELD)


def test_the_verifier_holds_no_write_action_and_no_secret_value(
    policies: dict[str, op.Policy],
) -> None:
    actions = _actions(policies["verifier.json"])
    names = {a.split(":", 1)[1] for a in actions}
    assert all(name.startswith(VERIFIER_READ_VERBS) for name in names), sorted(names)
    assert not [n for n in names if n.startswith(tuple(WRITE_VERBS))]
    assert "secretsmanager:GetSecretValue" not in actions and "kms:Decrypt" not in actions


def test_the_verifier_reads_the_stacks_resources_by_name(policies: dict[str, op.Policy]) -> None:
    verifier = policies["verifier.json"]
    ecs = f"arn:aws:ecs:us-east-1:{ACCOUNT}"
    service = f"{ecs}:service/ecs-cluster-{SUFFIX}/api-service-{SUFFIX}"
    assert _allowing(verifier, "ecs:DescribeServices", service) == ["ReadService"]
    assert not _allowing(verifier, "ecs:DescribeServices", f"{ecs}:service/other/other")
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/api-{SUFFIX}:*"
    assert _allowing(verifier, "logs:FilterLogEvents", group) == ["ReadLogs"]
    db = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:aurora-cluster-{SUFFIX}"
    assert _allowing(verifier, "rds:DescribeDBClusters", db) == ["ReadCluster"]
    # The rotation state of each database secret (LastRotatedDate), never its value.
    secrets = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
    for role in ("master", "app", "keys"):
        secret = f"{secrets}db-{role}-credentials-{SUFFIX}-a1B2c3"
        assert _allowing(verifier, "secretsmanager:DescribeSecret", secret) == [
            "ReadSecretMetadata"
        ], role
    assert not _allowing(verifier, "secretsmanager:DescribeSecret", f"{secrets}other-a1B2c3")


# -- the key operator -------------------------------------------------------------------------


def test_the_key_operator_passes_only_the_key_tasks_execution_role_to_ecs_tasks(
    recorded_graph: Graph, policies: dict[str, op.Policy]
) -> None:
    task = task_definition(recorded_graph, f"api-keys-{SUFFIX}")
    assert not task.inputs.get("taskRoleArn")  # the key task has no task role
    role = str(task.inputs["executionRoleArn"]).rsplit("/", 1)[-1]
    expected = [f"arn:aws:iam::{ACCOUNT}:role/{role}"]
    assert expected == [f"arn:aws:iam::{ACCOUNT}:role/ecs-keys-execution-role-{SUFFIX}"]
    key_operator = policies["key-operator.json"]
    passing = [s for s in _statements(key_operator) if "iam:PassRole" in s["Action"]]
    assert [s["Resource"] for s in passing] == [expected]
    assert (
        passing[0]["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    )
    # Not the roles of the API's tasks (the API's login, its task role), nor the migrations'
    # (the master's credentials).
    for other in (
        "ecs-task-execution-role",
        "ecs-task-role",
        "ecs-migrations-execution-role",
        "db-migrate-role",
    ):
        assert not _allowing(
            key_operator, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{other}-{SUFFIX}"
        ), other


def test_the_key_operator_runs_only_the_key_task_family_in_the_stacks_cluster(
    policies: dict[str, op.Policy],
) -> None:
    key_operator = policies["key-operator.json"]
    ecs = f"arn:aws:ecs:us-east-1:{ACCOUNT}"
    running = [s for s in _statements(key_operator) if "ecs:RunTask" in s["Action"]]
    assert [s["Resource"] for s in running] == [[f"{ecs}:task-definition/api-keys-{SUFFIX}:*"]]
    assert running[0]["Condition"]["ArnEquals"] == {
        "ecs:cluster": f"{ecs}:cluster/ecs-cluster-{SUFFIX}"
    }
    assert not _allowing(key_operator, "ecs:RunTask", f"{ecs}:task-definition/other:1")
    # Not the API's family (its login reads payments) nor the migrations' (the master's).
    for family in (f"api-{SUFFIX}", f"migrations-{SUFFIX}"):
        assert not _allowing(key_operator, "ecs:RunTask", f"{ecs}:task-definition/{family}:7")
    # It reads the key task's output, not the API's logs.
    logs = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
    assert _allowing(key_operator, "logs:FilterLogEvents", f"{logs}/ecs/api-keys-{SUFFIX}:*")
    assert not _allowing(key_operator, "logs:FilterLogEvents", f"{logs}/ecs/api-{SUFFIX}:*")
    assert _actions(key_operator) == {
        "ecs:DescribeServices",
        "ecs:RunTask",
        "iam:PassRole",
        "ecs:DescribeTasks",
        "logs:FilterLogEvents",
    }
    assert not [s for s in _statements(key_operator) if "*" in s["Resource"]]


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
        op.policies(_stack(graph))


def test_main_writes_the_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert op.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    for name in FILES:
        policy = json.loads((tmp_path / name).read_text())
        assert policy["Version"] == "2012-10-17" and policy["Statement"]
    assert "deployer.json" in capsys.readouterr().out
    assert op.main(["--stack", "no such stack"]) == 2
