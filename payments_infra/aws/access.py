"""Who may open the stack's secrets and administer its keys: the custodians.

- the deployers: the identity running ``pulumi up`` (its role, when it runs as an assumed
  role: ``aws.iam.get_session_context``) and ``payments:deployerRoleArns``. The provider reads
  every secret value back on refresh (GetSecretValue) and changes every key policy, so the
  deployer must stay admitted; KMS would refuse a key policy that locks its caller out anyway.
- the break-glass role ``break-glass-{suffix}``, made here: assumable by the account's
  principals only with MFA (``aws:MultiFactorAuthPresent``), for one hour at most. It may read
  the stack's secrets (``break_glass_policy``) and administer its keys (named in each key
  policy); it is what a team uses when the deployer is gone.

``Custodians`` carries their ARNs to every key policy (policies.key_admin_statements) and every
secret policy (secret_policies.restrict_secret).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.policies import policy_document, regional_service
from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION, StackConfig
from payments_infra.config.naming import Names, PhysicalName, physical_name

# One hour (IAM's minimum): an emergency read, not a working session.
BREAK_GLASS_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class Custodians:
    """The deployers' and the break-glass role's ARNs."""

    deployer_arns: pulumi.Input[Sequence[str]]
    break_glass_role_arn: pulumi.Input[str]

    def arns(self) -> pulumi.Output[list[str]]:
        """Every custodian, sorted, each once."""
        return pulumi.Output.all(
            pulumi.Output.from_input(self.deployer_arns), self.break_glass_role_arn
        ).apply(lambda v: sorted({*v[0], v[1]}))

    def with_roles(self, roles: pulumi.Input[Sequence[str]]) -> pulumi.Output[list[str]]:
        """The custodians and ``roles`` (the roles that use one secret): a secret's admitted."""
        return pulumi.Output.all(self.arns(), roles).apply(lambda v: sorted({*v[0], *v[1]}))


def stack_role_arn(account_id: str, role: PhysicalName, suffix: str) -> str:
    """The ARN one of the stack's roles will have (no path: the stack's roles have none,
    service_roles.py), for a policy that names it before it exists (a condition's ARNs need
    not exist)."""
    return f"arn:aws:iam::{account_id}:role/{physical_name(role, suffix)}"


def stack_custodians(
    resource_name: str,
    config: StackConfig,
    account_id: pulumi.Input[str],
    caller_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> Custodians:
    """The break-glass role, and the custodians: it, ``payments:deployerRoleArns`` and the
    caller (its role's ARN when it is a session: ``aws.iam.get_session_context``)."""
    role = break_glass_role(resource_name, config.environment_suffix, account_id, opts)
    deployers = pulumi.Output.from_input(caller_arn).apply(
        lambda arn: sorted({*config.deployer_role_arns, arn})
    )
    return Custodians(deployer_arns=deployers, break_glass_role_arn=role.arn)


def break_glass_trust_policy(account_id: str) -> str:
    """The account's principals, and only with MFA (IAM user guide, "Configuring MFA-protected
    API access": ``aws:MultiFactorAuthPresent`` in the role's trust policy)."""
    return policy_document(
        {
            "Sid": "TheAccountWithMfa",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    )


def break_glass_role(
    resource_name: str, suffix: str, account_id: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.iam.Role:
    """``break-glass-{suffix}`` and its policy: made before every key, which names it as an
    administrator."""
    name = physical_name(Names.break_glass_role, suffix)
    role = aws.iam.Role(
        resource_name,
        aws.iam.RoleArgs(
            name=name,
            description="Break-glass: read the stack's secrets, administer its keys (MFA, 1 h)",
            assume_role_policy=pulumi.Output.from_input(account_id).apply(break_glass_trust_policy),
            max_session_duration=BREAK_GLASS_SESSION_SECONDS,
            tags=name_tag(name),
        ),
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{resource_name}-policy",
        aws.iam.RolePolicyArgs(
            name=physical_name(Names.break_glass_policy, suffix),
            role=role.id,
            policy=pulumi.Output.from_input(account_id).apply(
                lambda account: break_glass_policy(account, suffix)
            ),
        ),
        opts=opts,
    )
    return role


# The stack's secrets and the keys they are encrypted with, by name: the role is made before
# them (every key names it), so its policy names them the way they will be called.
SECRETS = (
    Names.db_master_secret,
    Names.db_app_secret,
    Names.db_keys_secret,
    Names.origin_header_secret,
)
SECRET_KEY_ALIASES = (Names.db_kms_alias, Names.origin_header_kms_alias)


def break_glass_policy(account_id: str, suffix: str) -> str:
    """Read exactly the stack's secrets; decrypt only with their keys (by alias:
    ``kms:ResourceAliases``), only through Secrets Manager. Administering the keys needs no
    IAM allow: each key policy names the role."""
    secrets = f"arn:aws:secretsmanager:{REQUIRED_REGION}:{account_id}:secret"
    return policy_document(
        {
            "Sid": "ReadTheStacksSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            # Secrets Manager ends a secret's ARN with a hyphen and six random characters.
            "Resource": [f"{secrets}:{physical_name(n, suffix)}-??????" for n in SECRETS],
        },
        {
            "Sid": "DecryptThemThroughSecretsManager",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [f"arn:aws:kms:{REQUIRED_REGION}:{account_id}:key/*"],
            "Condition": {
                "StringEquals": {"kms:ViaService": regional_service("secretsmanager")},
                "ForAnyValue:StringEquals": {
                    "kms:ResourceAliases": [physical_name(a, suffix) for a in SECRET_KEY_ALIASES]
                },
            },
        },
    )
