"""The one way the stack makes an IAM role for an AWS service: a trust policy with the
confused-deputy conditions, one inline least-privilege policy, physical names from naming.py.

Every role of the platform is one: VPC flow logs, the ECS task execution and task roles, the
ALB log forwarder (Lambda), and the log archive's Firehose and CloudWatch Logs roles. Where
AWS publishes the exact policy a service needs and keeps it current (RDS enhanced monitoring,
AWS Config's recorder), ``managed_service_role`` and ``attach_managed_policy`` attach that
AWS managed policy instead of a copy of it that would go stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.policies import trust_policy
from payments_infra.aws.tagging import name_tag
from payments_infra.config.naming import PhysicalName, physical_name


@dataclass(frozen=True)
class ServiceRole:
    """A role and its inline policy. The policy is a resource of its own: whatever uses the
    role at creation (a flow log, an ECS task) must wait for it, not only for the role."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def service_role(
    resource_name: str,
    role_name: PhysicalName,
    policy_name: PhysicalName,
    *,
    service: str,
    account_id: pulumi.Input[str],
    policy: pulumi.Input[str],
    suffix: str,
    opts: pulumi.ResourceOptions,
    source_arn: Callable[[str], str] | None = None,
    description: str | None = None,
    confused_deputy_conditions: bool = True,
) -> ServiceRole:
    """A role only ``service`` acting for this account may assume, with ``policy`` inline.

    Logical names ``{resource_name}-role`` and ``{resource_name}-policy``; physical names
    ``role_name`` and ``policy_name`` (naming.Names). ``source_arn`` makes the
    ARN pattern of the resources the service acts for, from the account id, for services that
    send ``aws:SourceArn``. ``confused_deputy_conditions=False`` only for a service that
    sends no ``aws:SourceAccount`` (policies.trust_policy says which).
    """
    role = _role(
        resource_name,
        role_name,
        service=service,
        account_id=account_id,
        suffix=suffix,
        opts=opts,
        source_arn=source_arn,
        description=description,
        conditions=confused_deputy_conditions,
    )
    inline = aws.iam.RolePolicy(
        f"{resource_name}-policy",
        aws.iam.RolePolicyArgs(
            name=physical_name(policy_name, suffix), role=role.id, policy=policy
        ),
        opts=opts,
    )
    return ServiceRole(role, inline)


@dataclass(frozen=True)
class ManagedServiceRole:
    """A role whose permissions are one AWS managed policy; whatever uses the role at
    creation waits for the attachment."""

    role: aws.iam.Role
    attachment: aws.iam.RolePolicyAttachment


def managed_service_role(
    resource_name: str,
    role_name: PhysicalName,
    *,
    service: str,
    account_id: pulumi.Input[str],
    managed_policy_arn: str,
    suffix: str,
    opts: pulumi.ResourceOptions,
    description: str | None = None,
) -> ManagedServiceRole:
    """A role only ``service`` acting for this account may assume, with an AWS managed
    policy attached. Logical names ``{resource_name}-role`` and
    ``{resource_name}-managed-policy``; the role's physical name ``role_name``."""
    role = _role(
        resource_name,
        role_name,
        service=service,
        account_id=account_id,
        suffix=suffix,
        opts=opts,
        description=description,
    )
    attachment = attach_managed_policy(resource_name, role, managed_policy_arn, opts)
    return ManagedServiceRole(role, attachment)


def attach_managed_policy(
    resource_name: str, role: aws.iam.Role, policy_arn: str, opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicyAttachment:
    """Attach an AWS managed policy (``arn:aws:iam::aws:policy/...``) to ``role``."""
    return aws.iam.RolePolicyAttachment(
        f"{resource_name}-managed-policy",
        aws.iam.RolePolicyAttachmentArgs(role=role.name, policy_arn=policy_arn),
        opts=opts,
    )


def _role(
    resource_name: str,
    name: PhysicalName,
    *,
    service: str,
    account_id: pulumi.Input[str],
    suffix: str,
    opts: pulumi.ResourceOptions,
    source_arn: Callable[[str], str] | None = None,
    description: str | None = None,
    conditions: bool = True,
) -> aws.iam.Role:
    role_name = physical_name(name, suffix)
    return aws.iam.Role(
        f"{resource_name}-role",
        aws.iam.RoleArgs(
            name=role_name,
            description=description,
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda account: trust_policy(
                    service,
                    account,
                    source_arn(account) if source_arn else None,
                    conditions=conditions,
                )
            ),
            tags=name_tag(role_name),
        ),
        opts=opts,
    )
