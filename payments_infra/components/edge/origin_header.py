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
- the secret's resource policy (aws/secret_policies.py): it admits the custodians and
  ``admitted_roles`` only (none yet: the rotation function's role, once the stack deploys it).

Rotation (docs/security.md, "CloudFront origin header"): replace the random value
(``pulumi up --replace`` on it); one ``up`` then updates the secret, the listener rule, the
ALB's web ACL and CloudFront.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from payments_infra.aws.access import Custodians
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


@dataclass(frozen=True)
class OriginHeader:
    """The header CloudFront adds to every ``/api`` request, and where its value is kept."""

    name: str
    value: pulumi.Output[str]
    """A Pulumi secret: never export it or put it in a plain input."""
    secret_arn: pulumi.Output[str]


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
    admitted_roles: Sequence[str] = (),
) -> OriginHeader:
    """The random value, its key and its secret, which admits the custodians and
    ``admitted_roles`` (role ARNs) only; ``name`` prefixes the logical names."""
    key = customer_managed_key(
        f"{name}-origin-header-key",
        description="The CloudFront origin header secret of the payments stack",
        policy=pulumi.Output.all(account_id, custodians.arns()).apply(
            lambda v: origin_key_policy(v[0], v[1], admitted_roles)
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
    restrict_secret(
        f"{name}-origin-header-policy", secret, custodians.with_roles(list(admitted_roles)), opts
    )
    secret_value: pulumi.Output[str] = pulumi.Output.secret(value.result)
    aws.secretsmanager.SecretVersion(
        f"{name}-origin-header-value",
        aws.secretsmanager.SecretVersionArgs(secret_id=secret.id, secret_string=secret_value),
        opts=opts,
    )
    return OriginHeader(name=ORIGIN_HEADER_NAME, value=secret_value, secret_arn=secret.arn)
