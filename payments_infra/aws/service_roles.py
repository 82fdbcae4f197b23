"""The one way the stack makes an IAM role for an AWS service: a trust policy with the
confused-deputy conditions, one inline least-privilege policy, physical names from naming.py.

Every role of the platform is one: VPC flow logs, the ECS task execution and task roles, the
ALB log forwarder (Lambda), and the log archive's Firehose and CloudWatch Logs roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.naming import physical_name
from payments_infra.aws.policies import trust_policy
from payments_infra.aws.tagging import name_tag


@dataclass(frozen=True)
class ServiceRole:
    """A role and its inline policy. The policy is a resource of its own: whatever uses the
    role at creation (a flow log, an ECS task) must wait for it, not only for the role."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def service_role(
    resource_name: str,
    name_key: str,
    *,
    service: str,
    account_id: pulumi.Input[str],
    policy: pulumi.Input[str],
    suffix: str,
    opts: pulumi.ResourceOptions,
    source_arn: Callable[[str], str] | None = None,
    description: str | None = None,
) -> ServiceRole:
    """A role only ``service`` acting for this account may assume, with ``policy`` inline.

    Logical names ``{resource_name}-role`` and ``{resource_name}-policy``; physical names from
    catalogue entries ``{name_key}_role`` and ``{name_key}_policy``. ``source_arn`` makes the
    ARN pattern of the resources the service acts for, from the account id, for services that
    send ``aws:SourceArn``.
    """
    role_name = physical_name(f"{name_key}_role", suffix)
    role = aws.iam.Role(
        f"{resource_name}-role",
        aws.iam.RoleArgs(
            name=role_name,
            description=description,
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda account: trust_policy(
                    service, account, source_arn(account) if source_arn else None
                )
            ),
            tags=name_tag(role_name),
        ),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(
        f"{resource_name}-policy",
        aws.iam.RolePolicyArgs(
            name=physical_name(f"{name_key}_policy", suffix), role=role.id, policy=policy
        ),
        opts=opts,
    )
    return ServiceRole(role, inline)
