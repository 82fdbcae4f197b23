"""The secret header CloudFront sends to the ALB, so that the ALB can tell CloudFront's
requests from anyone else's.

CloudFront's origin-facing prefix list (``payments:albIngress: cloudfront``) admits every
CloudFront distribution, any customer's, not only ours; a value only our distribution knows
closes that gap. The ALB's tier makes it (load_balancer.py) when CloudFront routes ``/api`` to
the ALB; platform.py hands it to the Frontend, which adds it to the ``/api`` origin.

Creates:
- the value: 64 random lowercase letters and digits (``pulumi_random``, about 330 bits), a
  Pulumi secret end to end. Lowercase and digits only: ALB listener rules compare header values
  case-insensitively and read ``*`` and ``?`` as wildcards, so case or punctuation would add no
  strength, only ways to go wrong;
- the Secrets Manager secret ``cloudfront-origin-header-{suffix}`` holding it (the value
  alone; the description names the header), so that an operator or a later rotation reads it
  from one place; no recovery window (destroyable);
- the secret's own customer-managed key ``alias/origin-header-{suffix}`` (rotation on),
  administered by the custodians (aws/access.py), usable only through Secrets Manager by
  those the secret admits;
- the secret's resource policy (aws/secret_policies.py): it admits the custodians and the
  rotation function's role (``SECRET_USERS``) only, named before the role exists (a condition's
  ARNs need not exist, and the role needs the secret's ARN first).

Rotation (docs/security.md, "CloudFront origin header"): automatic, by Secrets Manager and
the stack's function (origin_rotation.py, functions/origin_header_rotation), which writes the
new value into the secret, the ALB's listener rule, its WAF rule group and CloudFront. The
program's random value is then only the first one: the four resources that carry it ignore
the paths the function writes (``ROTATED_PATHS``), so a later ``pulumi up`` does not put it
back, and the first version carries a label of its own (``PULUMI``) so that Secrets Manager
never deletes it as unlabelled (the provider would then create it again as ``AWSCURRENT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from payments_infra.aws.access import Custodians, stack_role_arn
from payments_infra.aws.keys import KEY_USE_ACTIONS, customer_managed_key
from payments_infra.aws.policies import (
    callers_through_service_statement,
    key_admin_statements,
    policy_document,
    regional_service,
)
from payments_infra.aws.secret_policies import restrict_secret
from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import Names, physical_name

# At most 40 characters (ALB listener-rule header names); not one CloudFront forbids.
ORIGIN_HEADER_NAME = "X-Origin-Verify"
# ALB listener-rule values are at most 128 characters.
ORIGIN_HEADER_LENGTH = 64
# The roles that read and write the secret besides the custodians: the rotation function's
# (origin_rotation.py: the stack rotates the header wherever it makes one).
SECRET_USERS = (Names.origin_rotation_role,)
# The first version's labels: AWSCURRENT (the value in use), and one no rotation moves, which
# keeps Secrets Manager from deleting the version once rotations leave it unlabelled
# (hashicorp/terraform-provider-aws#37302; functions/origin_header_rotation/README.md).
FIRST_VERSION_STAGES = ["AWSCURRENT", "PULUMI"]
# What the rotation function writes after creation, by type token, as Pulumi's
# ``ignore_changes`` paths (the provider schema's camelCase names; ``[*]`` pairs list elements
# by index): a later ``up`` must not put the program's first value back. `make up` refreshes
# first, since an update of the whole resource sends the value Pulumi's state holds.
ROTATED_PATHS: dict[str, list[str]] = {
    "aws:lb/listenerRule:ListenerRule": ["conditions[*].httpHeader.values"],
    "aws:wafv2/ruleGroup:RuleGroup": ["rules[*].statement"],
    "aws:cloudfront/distribution:Distribution": ["origins[*].customHeaders"],
    "aws:secretsmanager/secretVersion:SecretVersion": ["secretString", "versionStages"],
}


@dataclass(frozen=True)
class OriginHeader:
    """The header CloudFront adds to every ``/api`` request, and where its value is kept."""

    name: str
    value: pulumi.Output[str]
    """A Pulumi secret: never export it or put it in a plain input."""
    secret_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    """The secret's own key: the rotation reads and writes versions through it."""
    first_version: aws.secretsmanager.SecretVersion
    """The first value in the secret: what a rotation starts from."""


@dataclass(frozen=True)
class OriginChecks:
    """The header, and where the ALB checks it: the places its rotation rewrites there."""

    header: OriginHeader
    listener_rule_arn: pulumi.Output[str]
    """The listener rule that forwards requests carrying the value (priority 10)."""
    rule_group_name: pulumi.Output[str]
    rule_group_id: pulumi.Output[str]
    rule_group_arn: pulumi.Output[str]
    """The REGIONAL rule group that labels those requests for the ALB's web ACL."""


def rotated(type_token: str, opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """``opts`` ignoring what the rotation writes on a resource of ``type_token``."""
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(ignore_changes=ROTATED_PATHS[type_token])
    )


def origin_key_policy(account_id: str, custodians: Sequence[str], users: Sequence[str]) -> str:
    """Administration by the custodians; use only through Secrets Manager, by the custodians
    and ``users`` (the roles the secret admits)."""
    return policy_document(
        *key_admin_statements(account_id, custodians),
        callers_through_service_statement(
            "UseThroughSecretsManager",
            account_id,
            regional_service("secretsmanager"),
            KEY_USE_ACTIONS,
            [*custodians, *users],
        ),
    )


def create_origin_header(
    name: str,
    suffix: str,
    account_id: pulumi.Input[str],
    custodians: Custodians,
    *,
    opts: pulumi.ResourceOptions,
) -> OriginHeader:
    """The random value, its key and its secret, which admits the custodians and
    ``SECRET_USERS`` only; ``name`` prefixes the logical names."""
    users = pulumi.Output.from_input(account_id).apply(
        lambda account: [stack_role_arn(account, role, suffix) for role in SECRET_USERS]
    )
    key = customer_managed_key(
        f"{name}-origin-header-key",
        description="The CloudFront origin header secret of the payments stack",
        policy=pulumi.Output.all(account_id, custodians.arns(), users).apply(
            lambda v: origin_key_policy(v[0], v[1], v[2])
        ),
        name=Names.origin_header_kms_key,
        alias=Names.origin_header_kms_alias,
        suffix=suffix,
        opts=opts,
    )
    value = random.RandomPassword(
        f"{name}-origin-header-value",
        random.RandomPasswordArgs(
            length=ORIGIN_HEADER_LENGTH, upper=False, lower=True, numeric=True, special=False
        ),
        opts=opts,
    )
    secret_name = physical_name(Names.origin_header_secret, suffix)
    secret = aws.secretsmanager.Secret(
        f"{name}-origin-header",
        aws.secretsmanager.SecretArgs(
            name=secret_name,
            description=f"The value of the {ORIGIN_HEADER_NAME} header CloudFront sends to "
            "the ALB to prove a request came through it",
            kms_key_id=key.arn,
            # Deleted at once, so a destroy followed by an up can reuse the name.
            recovery_window_in_days=0,
            tags=name_tag(secret_name),
        ),
        opts=opts,
    )
    restrict_secret(f"{name}-origin-header-policy", secret, custodians.with_roles(users), opts)
    secret_value: pulumi.Output[str] = pulumi.Output.secret(value.result)
    version_type = "aws:secretsmanager/secretVersion:SecretVersion"
    first_version = aws.secretsmanager.SecretVersion(
        f"{name}-origin-header-value",
        aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id,
            secret_string=secret_value,
            version_stages=FIRST_VERSION_STAGES,
        ),
        opts=rotated(version_type, opts),
    )
    return OriginHeader(
        name=ORIGIN_HEADER_NAME,
        value=secret_value,
        secret_arn=secret.arn,
        key_arn=key.arn,
        first_version=first_version,
    )
