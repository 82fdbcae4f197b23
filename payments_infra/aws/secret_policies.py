"""Who may read or change a secret: the one resource policy every secret of the stack gets.

``secret_policy_document(admitted)`` denies the secret's reads and writes to every principal
whose ARN is not in ``admitted`` (``aws:PrincipalArn``, ``ArnNotEquals``); ``restrict_secret``
attaches it with ``block_public_policy``. It grants nothing: each admitted role still needs
its own IAM allow. What it stops is an account administrator (``secretsmanager:*`` on
``*``) reading the master password or swapping a value: an explicit deny in a resource
policy beats any allow (IAM user guide, "Policy evaluation logic").

``aws:PrincipalArn`` is the role's ARN for any session of it, not the session's ARN (IAM user
guide, "AWS global condition context keys"), so a role ARN admits every session of that
role; a negated operator with several values is true only when the key matches none of them
(IAM user guide, "Condition operators": negated matching). Admitted ARNs are strings in a
condition, so a role made after the secret (the tasks' roles) can be named before it exists.

Denied, and why each:
- reads: ``GetSecretValue`` (``BatchGetSecretValue`` checks it per secret);
- writes: ``PutSecretValue``, ``UpdateSecret`` (a new value or key), ``UpdateSecretVersionStage``
  (an old value made current), ``RotateSecret`` and ``CancelRotateSecret`` (a rotation to
  another function, or none), ``RestoreSecret``, ``ReplicateSecretToRegions`` (a copy in
  another Region carries no policy of ours);
- the policy itself: ``PutResourcePolicy``, ``DeleteResourcePolicy``, else one call undoes it;
- ``DeleteSecret``: deleting and recreating the name would put someone else's value where
  the tasks read it. The deployer is always admitted, so ``pulumi destroy`` still deletes it
  (the policy first, then the secret) with no manual step.
Left open: the metadata reads (``DescribeSecret``, ``ListSecretVersionIds``,
``GetResourcePolicy``) and tags, which AWS Config and Security Hub read (SecretsManager.1-.4)
and which reveal no value.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from payments_infra.aws.policies import policy_document

DENIED_SECRET_ACTIONS = [
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RestoreSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
]
DENY_SID = "DenyAllButItsUsers"


def secret_policy_document(admitted: Sequence[str]) -> str:
    """Deny ``DENIED_SECRET_ACTIONS`` on the secret to everyone but ``admitted`` (principal
    ARNs: the roles that use the secret, the deployers, the break-glass role)."""
    if not admitted:
        raise ValueError("a secret's policy must admit at least its deployer")
    return policy_document(
        {
            "Sid": DENY_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": DENIED_SECRET_ACTIONS,
            "Resource": "*",  # in a secret's policy, "*" means this secret
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(set(admitted))}},
        }
    )


def restrict_secret(
    resource_name: str,
    secret: aws.secretsmanager.Secret,
    admitted: pulumi.Input[Sequence[pulumi.Input[str]]],
    opts: pulumi.ResourceOptions,
) -> aws.secretsmanager.SecretPolicy:
    """``secret``'s resource policy, admitting ``admitted`` only (a plain list of role ARNs).

    ``block_public_policy``: Secrets Manager refuses a policy that would grant broad access
    (a later edit that adds an ``Allow`` to ``*``)."""
    return aws.secretsmanager.SecretPolicy(
        resource_name,
        aws.secretsmanager.SecretPolicyArgs(
            secret_arn=secret.arn,
            policy=pulumi.Output.from_input(admitted).apply(
                lambda arns: secret_policy_document([str(arn) for arn in arns])
            ),
            block_public_policy=True,
        ),
        opts=opts,
    )
