"""Who may open the secrets and administer the keys (PCI DSS 3.6, 7.2): every secret denies
all but its users and the custodians, no key is administered by the whole account, and the
break-glass role needs MFA. Each check is shown failing on a broken graph, the rules too."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from payments_infra.aws.keys import FUNCTION_ROLES
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline.checks_custody import (
    KEY,
    SECRET,
    SECRET_POLICY,
    check_key_admins,
    check_secret_policies,
)
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import MOCK_ACCOUNT_ID, record_program
from policy.offline_validation import stack_args_for, stack_violations
from policy.rules import STACK_RULES
from tests.stacks import EVERYTHING, VALID_CONFIG

SECRETS_RULE = next(rule for rule in STACK_RULES if rule.name == "secrets-closed")
KEYS_RULE = next(rule for rule in STACK_RULES if rule.name == "key-admin-named")
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
DEPLOYER = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/plan"  # the mocks' caller
BREAK_GLASS = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/break-glass-test1"


def statements(text: Any) -> list[dict[str, Any]]:
    return list(json.loads(str(text))["Statement"])


def policy_of(graph: Graph, secret_name: str) -> Resource:
    (secret,) = [s for s in graph.of_type(SECRET) if s.inputs["name"] == secret_name]
    (policy,) = [
        p for p in graph.of_type(SECRET_POLICY) if p.inputs["secretArn"] == secret.outputs["arn"]
    ]
    return policy


def admitted(policy: Resource) -> set[str]:
    (deny,) = statements(policy.inputs["policy"])
    return set(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"])


def readers(graph: Graph, secret_arn: str) -> set[str]:
    """The stack's roles whose own policy lets them read ``secret_arn``."""
    arns = {r.id: str(r.outputs["arn"]) for r in graph.of_type(ROLE)}
    found = set()
    for inline in graph.of_type(ROLE_POLICY):
        for statement in statements(inline.inputs["policy"]):
            if "secretsmanager:GetSecretValue" in statement["Action"] and any(
                secret_arn == resource for resource in statement["Resource"]
            ):
                found.add(arns[inline.inputs["role"]])
    return found


@pytest.fixture(scope="module")
def everything() -> Graph:
    return record_program(dict(EVERYTHING), stack="test")


def test_every_secret_and_key_passes_the_checks_and_the_rules(
    graph: Graph, everything: Graph
) -> None:
    for each in (graph, everything):
        assert check_secret_policies(each) == []
        assert check_key_admins(each) == []
        for rule in (SECRETS_RULE, KEYS_RULE):
            assert stack_violations(rule, stack_args_for(each)) == []
    assert len(everything.of_type(SECRET_POLICY)) == 4  # the origin header's too


@pytest.mark.parametrize(
    "name", ["db-master-credentials-test1", "db-app-credentials-test1", "db-keys-credentials-test1"]
)
def test_each_database_secret_admits_exactly_its_readers_and_the_custodians(
    graph: Graph, name: str
) -> None:
    """The roles the policy admits are the roles whose IAM policies read the secret: a role
    that starts reading one without being admitted, or an admitted role that no longer reads
    it, fails here."""
    policy = policy_of(graph, name)
    users = readers(graph, policy.inputs["secretArn"])
    assert users, name
    assert admitted(policy) == users | {DEPLOYER, BREAK_GLASS}
    assert policy.inputs["blockPublicPolicy"] is True


def test_the_master_is_read_by_the_migrations_and_the_rotation_only(graph: Graph) -> None:
    users = admitted(policy_of(graph, "db-master-credentials-test1"))
    roles = {arn.rsplit("/", 1)[-1] for arn in users}
    assert roles == {
        "ecs-migrations-execution-role-test1",
        "db-password-rotation-role-test1",
        "break-glass-test1",
        "plan",
    }


def test_the_origin_header_admits_its_rotation_and_the_custodians_only(
    everything: Graph,
) -> None:
    """Its one reader is the rotation function's role; its key lets exactly those use it
    through Secrets Manager (a role left out of either could not rotate)."""
    policy = policy_of(everything, "cloudfront-origin-header-test1")
    rotation = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/origin-header-rotation-role-test1"
    assert readers(everything, policy.inputs["secretArn"]) == {rotation}
    assert admitted(policy) == {rotation, DEPLOYER, BREAK_GLASS}
    (key,) = [
        k
        for k in everything.of_type("aws:kms/key:Key")
        if k.inputs["description"].startswith("The CloudFront origin header")
    ]
    (use,) = [s for s in statements(key.inputs["policy"]) if s["Sid"] == "UseThroughSecretsManager"]
    assert set(use["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == admitted(policy)


def test_configured_deployers_are_custodians_of_every_secret_and_key() -> None:
    ci = f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/ci/deployer"
    graph = record_program(
        {**VALID_CONFIG, "payments:deployerRoleArns": json.dumps([ci])}, stack="test"
    )
    for policy in graph.of_type(SECRET_POLICY):
        assert {ci, DEPLOYER, BREAK_GLASS} <= admitted(policy)
    for key in graph.of_type(KEY):
        (admin,) = [
            s for s in statements(key.inputs["policy"]) if "kms:PutKeyPolicy" in s["Action"]
        ]
        assert admin["Principal"] == {"AWS": sorted([BREAK_GLASS, ci, DEPLOYER])}


def test_a_deployer_that_is_not_a_role_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ConfigError, match=r"payments:deployerRoleArns must hold IAM role ARNs"):
        StackConfig.from_mapping(
            {
                **VALID_CONFIG,
                "payments:deployerRoleArns": f'["arn:aws:iam::{MOCK_ACCOUNT_ID}:user/x"]',
            },
            project="payments",
            stack="test",
        )


def test_break_glass_needs_mfa_and_lasts_an_hour(graph: Graph) -> None:
    (role,) = [r for r in graph.of_type(ROLE) if r.inputs["name"] == "break-glass-test1"]
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"}
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert role.inputs["maxSessionDuration"] == 3600


def test_a_secret_without_a_policy_fails_the_check_and_the_rule(graph: Graph) -> None:
    policy = policy_of(graph, "db-master-credentials-test1")
    graph.resources.remove(policy)
    (problem,) = check_secret_policies(graph)
    assert "database-master-credentials" in problem and "has no resource policy" in problem
    (violation,) = stack_violations(SECRETS_RULE, stack_args_for(graph))
    assert "PCI DSS 7.2.1" in violation and "has no resource policy" in violation


@pytest.mark.parametrize(
    "breakage",
    [
        "allow instead of deny",
        "reads not denied",
        "everyone admitted",
        "the account admitted",
        "public policies not blocked",
    ],
)
def test_a_policy_that_does_not_close_the_secret_fails(graph: Graph, breakage: str) -> None:
    policy = policy_of(graph, "db-app-credentials-test1")
    (deny,) = statements(policy.inputs["policy"])
    if breakage == "allow instead of deny":
        deny["Effect"] = "Allow"
    elif breakage == "reads not denied":
        deny["Action"].remove("secretsmanager:GetSecretValue")
    elif breakage == "everyone admitted":
        deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"].append("*")
    elif breakage == "the account admitted":
        deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = [
            f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"
        ]
    else:
        policy.inputs["blockPublicPolicy"] = False
    policy.inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    policy.outputs.update(policy.inputs)  # the rule reads what the provider reports
    (problem,) = check_secret_policies(graph)
    assert "database-app-credentials" in problem
    assert stack_violations(SECRETS_RULE, stack_args_for(graph))


def test_a_key_the_whole_account_administers_fails_the_check_and_the_rule(
    everything: Graph,
) -> None:
    broken = copy.deepcopy(everything)
    (audit,) = [k for k in broken.of_type(KEY) if "audit" in k.name]
    found = statements(audit.inputs["policy"])
    admin = next(s for s in found if "kms:ScheduleKeyDeletion" in s["Action"])
    admin["Principal"] = {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"}
    audit.inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": found})
    audit.outputs["policy"] = audit.inputs["policy"]
    (problem,) = check_key_admins(broken)
    assert audit.name in problem and "CustodiansAdministerKey" in problem
    assert "kms:ScheduleKeyDeletion" in problem
    (violation,) = stack_violations(KEYS_RULE, stack_args_for(broken))
    assert "PCI DSS 3.6.1" in violation


def test_key_use_through_a_service_is_held_to_named_callers(graph: Graph) -> None:
    """The database key: RDS for the custodians; Secrets Manager for the secrets' readers and
    the custodians; nobody else, never directly."""
    (key,) = [k for k in graph.of_type(KEY) if k.name == "database-key"]
    by_sid = {s["Sid"]: s for s in statements(key.inputs["policy"])}
    rds = by_sid["RdsForTheClusterAndPerformanceInsights"]
    sm = by_sid["SecretsManagerForTheSecretsUsers"]
    assert rds["Condition"]["StringEquals"]["kms:ViaService"] == "rds.us-east-1.amazonaws.com"
    assert set(rds["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {DEPLOYER, BREAK_GLASS}
    every_reader = set().union(
        *(readers(graph, p.inputs["secretArn"]) for p in graph.of_type(SECRET_POLICY))
    )
    assert set(sm["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == every_reader | {
        DEPLOYER,
        BREAK_GLASS,
    }


@pytest.mark.parametrize("key_name", ["logs-key-key", "image-key", "database-key"])
def test_a_key_the_whole_account_may_use_fails_the_check_and_the_rule(
    graph: Graph, key_name: str
) -> None:
    """Each statement that lets principals use a key through a service names them: with its
    aws:PrincipalArn condition dropped, every principal of the account could."""
    broken = copy.deepcopy(graph)
    (key,) = [k for k in broken.of_type(KEY) if k.name == key_name]
    found = statements(key.inputs["policy"])
    use = next(s for s in found if "ArnEquals" in s.get("Condition", {}))
    del use["Condition"]["ArnEquals"]
    key.inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": found})
    key.outputs["policy"] = key.inputs["policy"]
    (problem,) = check_key_admins(broken)
    assert key_name in problem and use["Sid"] in problem and "use the key" in problem
    assert stack_violations(KEYS_RULE, stack_args_for(broken))


def test_every_function_decrypts_its_environment_and_nobody_else(everything: Graph) -> None:
    """The logs key encrypts the functions' environments: each function's role, and the
    custodians who create them, are its Lambda callers; no other role (FUNCTION_ROLES names
    the origin header's rotation too, which this stack has not)."""
    (key,) = [k for k in everything.of_type(KEY) if k.name == "logs-key-key"]
    (lam,) = [
        s
        for s in statements(key.inputs["policy"])
        if s["Sid"] == "EncryptFunctionEnvironmentsThroughLambda"
    ]
    function_roles = {str(f.inputs["role"]) for f in graphs_functions(everything)}
    callers = set(lam["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    assert len(function_roles) == 3 and function_roles <= callers
    named = {f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/{r.prefix}-test1" for r in FUNCTION_ROLES}
    assert callers == named | {DEPLOYER, BREAK_GLASS}


def graphs_functions(graph: Graph) -> list[Resource]:
    return graph.of_type("aws:lambda/function:Function")


def test_the_alerts_topic_is_published_through_sns_by_the_custodians_only(graph: Graph) -> None:
    (key,) = [k for k in graph.of_type(KEY) if k.name == "logs-key-key"]
    (sns,) = [
        s for s in statements(key.inputs["policy"]) if s["Sid"] == "CustodiansPublishThroughSns"
    ]
    assert sns["Condition"]["StringEquals"]["kms:ViaService"] == "sns.us-east-1.amazonaws.com"
    assert set(sns["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {DEPLOYER, BREAK_GLASS}
