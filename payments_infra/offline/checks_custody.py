"""Graph-wide checks of who may open the secrets and administer the keys (PCI DSS 3.6, 7.2).

- Every Secrets Manager secret has a resource policy (``secret_policies.py``) that denies its
  reads and writes to every principal but the ARNs it admits (``ArnNotEquals`` on
  ``aws:PrincipalArn``), with ``blockPublicPolicy``; an IAM allow on ``*`` (an account
  administrator's) then cannot read it.
- No KMS key lets the whole account (its root principal, or ``*``) administer it: its
  administration statements name the custodians (``policies.key_admin_statements``), or hold
  the account to named ARNs with ``aws:PrincipalArn``.
"""

from __future__ import annotations

import json
from typing import Any

from payments_infra.aws.keys import KEY_USE_ACTIONS
from payments_infra.aws.policies import KEY_ADMIN_ACTIONS
from payments_infra.aws.secret_policies import DENIED_SECRET_ACTIONS
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
KEY = "aws:kms/key:Key"
# What must be denied to outsiders at the least: reading the value, writing one, undoing the
# policy (secret_policies.py says why each of the rest is denied too).
MUST_DENY = {
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
}
assert MUST_DENY <= set(DENIED_SECRET_ACTIONS)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(text: Any) -> list[dict[str, Any]]:
    try:
        return [dict(s) for s in _as_list(json.loads(str(text)).get("Statement", []))]
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return []


def _admitted(statement: dict[str, Any]) -> list[str] | None:
    """The ARNs a Deny statement spares, when it spares them by ``aws:PrincipalArn`` only."""
    condition = statement.get("Condition", {})
    if set(condition) != {"ArnNotEquals"} or set(condition["ArnNotEquals"]) != {"aws:PrincipalArn"}:
        return None
    return [str(a) for a in _as_list(condition["ArnNotEquals"]["aws:PrincipalArn"])]


def _closing_problems(secret: Resource, policy: Resource) -> list[str]:
    if policy.inputs.get("blockPublicPolicy") is not True:
        return [f"{label(secret)}: its policy does not block public policies"]
    for statement in _statements(policy.inputs.get("policy")):
        denied = {str(a) for a in _as_list(statement.get("Action", []))}
        admitted = _admitted(statement)
        if (
            statement.get("Effect") == "Deny"
            and statement.get("Principal") == "*"
            and _as_list(statement.get("Resource")) == ["*"]
            and MUST_DENY <= denied
            and admitted
            and not any("*" in arn or arn.endswith(":root") for arn in admitted)
        ):
            return []
    return [
        f"{label(secret)}: its policy does not deny reads and writes to everyone outside its "
        "admitted roles (Deny, Principal *, ArnNotEquals aws:PrincipalArn on named ARNs)"
    ]


def check_secret_policies(graph: Graph) -> list[str]:
    """Every secret has a resource policy closing it to all but the roles it admits."""
    policies = {str(p.inputs.get("secretArn")): p for p in graph.of_type(SECRET_POLICY)}
    problems = []
    for secret in graph.of_type(SECRET):
        policy = policies.get(str(secret.outputs.get("arn")))
        if policy is None:
            problems.append(
                f"{label(secret)} has no resource policy: any principal whose IAM policy "
                "allows secretsmanager:GetSecretValue on * reads it"
            )
            continue
        problems += _closing_problems(secret, policy)
    return problems


def _open_to_account(statement: dict[str, Any]) -> bool:
    principals = statement.get("Principal")
    aws_principals = principals.get("AWS", []) if isinstance(principals, dict) else principals
    whole = [p for p in _as_list(aws_principals) if p == "*" or str(p).endswith(":root")]
    condition = statement.get("Condition", {})
    named = any("aws:PrincipalArn" in keys for keys in condition.values())
    return bool(whole) and not named


# Key-policy statements that let the whole account use a key, and why.
ACCOUNT_WIDE_USE = {
    "TheAccountReadsTheLogFiles": "the audit key: the account's principals decrypt the trail's "
    'files to read them (CloudTrail user guide, "Configure AWS KMS key policies for '
    "CloudTrail\"); who may read the files is the log bucket's policy and IAM's to say",
}


def check_key_admins(graph: Graph) -> list[str]:
    """No key lets the whole account (or anyone) change its policy, disable or delete it, or
    use it: each such statement names its callers (principals, or ``aws:PrincipalArn``)."""
    problems = []
    for key in graph.of_type(KEY):
        for statement in _statements(key.inputs.get("policy")):
            if statement.get("Effect") != "Allow" or not _open_to_account(statement):
                continue
            actions = {str(a) for a in _as_list(statement.get("Action", []))}
            sid = statement.get("Sid", "(no Sid)")
            if admin := actions & {*KEY_ADMIN_ACTIONS, "kms:*"}:
                problems.append(
                    f"{label(key)}: statement {sid} lets the whole account administer the key "
                    f"({', '.join(sorted(admin))}): name the custodians instead"
                )
            use = actions & {*KEY_USE_ACTIONS, "kms:CreateGrant"} - {"kms:DescribeKey"}
            if use and sid not in ACCOUNT_WIDE_USE:
                problems.append(
                    f"{label(key)}: statement {sid} lets every principal of the account use "
                    f"the key ({', '.join(sorted(use))}): name its callers (aws:PrincipalArn)"
                )
    return problems
