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

# The services whose roles trust them without aws:SourceAccount or aws:SourceArn, and why: a
# condition on a key the service does not send refuses it. Every other service role carries
# them (offline/checks_access.py, check_service_trusts; rule service-trusts-confused-deputy).
WITHOUT_SOURCE_KEYS: dict[str, str] = {
    "cloudtrail.amazonaws.com": "CloudTrail sends neither key when it delivers to CloudWatch "
    'Logs (CloudTrail user guide, "Role policy document for CloudTrail to use CloudWatch '
    'Logs": confused-deputy prevention is not applicable)',
    "lambda.amazonaws.com": "Lambda documents no confused-deputy key on the execution role's "
    'trust (Lambda developer guide, "Defining Lambda function permissions with an execution '
    'role": the trust names lambda.amazonaws.com only); no other account can give its '
    "function this role, as iam:PassRole passes roles of the caller's own account only",
}


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
    source_arn: Callable[[str], str | list[str]] | None = None,
    description: str | None = None,
) -> ServiceRole:
    """A role only ``service`` acting for this account may assume, with ``policy`` inline.

    Logical names ``{resource_name}-role`` and ``{resource_name}-policy``; physical names
    ``role_name`` and ``policy_name`` (naming.Names). ``source_arn`` makes the
    ARN pattern of the resources the service acts for, from the account id, for services that
    send ``aws:SourceArn``. No condition at all for a service of ``WITHOUT_SOURCE_KEYS``.
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
    source_arn: Callable[[str], str | list[str]] | None = None,
    description: str | None = None,
) -> ManagedServiceRole:
    """A role only ``service`` acting for this account (and for ``source_arn``, as in
    ``service_role``) may assume, with an AWS managed policy attached. Logical names
    ``{resource_name}-role`` and ``{resource_name}-managed-policy``; the role's physical name
    ``role_name``."""
    role = _role(
        resource_name,
        role_name,
        service=service,
        account_id=account_id,
        suffix=suffix,
        opts=opts,
        source_arn=source_arn,
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
    source_arn: Callable[[str], str | list[str]] | None = None,
    description: str | None = None,
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
                    conditions=service not in WITHOUT_SOURCE_KEYS,
                )
            ),
            tags=name_tag(role_name),
        ),
        opts=opts,
    )
