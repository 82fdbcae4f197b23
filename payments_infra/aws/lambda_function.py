"""``hardened_function``: a Python Lambda function as every function of the stack is made.

One place for what the checks require of each (offline/checks_hardening.py, the policy pack):
Python 3.12 on arm64, X-Ray active tracing, a reserved concurrency, its own log group made
first (a first run would otherwise create one that never expires), and creation only after
its role's policy (Lambda checks at creation that the role may trace, and create network
interfaces when it runs in a VPC).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.aws.options import after
from payments_infra.aws.service_roles import ServiceRole
from payments_infra.aws.tagging import name_tag


def hardened_function(
    resource_name: str,
    *,
    function_name: str,
    description: str,
    code: pulumi.Archive,
    role: ServiceRole,
    log_group: aws.cloudwatch.LogGroup,
    memory_size: int,
    timeout: int,
    reserved_concurrency: int,
    opts: pulumi.ResourceOptions,
    environment: aws.lambda_.FunctionEnvironmentArgs | None = None,
    kms_key_arn: pulumi.Input[str] | None = None,
    vpc_config: aws.lambda_.FunctionVpcConfigArgs | None = None,
    security_group_on_destroy: pulumi.Input[str] | None = None,
) -> aws.lambda_.Function:
    """The function ``handler.handler`` of ``code``, running as ``role``.

    ``security_group_on_destroy`` (a function in a VPC): the group the function is moved to
    before it is deleted. Lambda keeps a deleted function's network interfaces for many
    minutes, and with them its security groups, which a destroy then waits on
    (pulumi/pulumi-aws#2642); the provider moves the function and waits for that first, so
    the interfaces left behind hold only this group (the VPC's rule-less default one).
    """
    return aws.lambda_.Function(
        resource_name,
        aws.lambda_.FunctionArgs(
            name=function_name,
            description=description,
            runtime="python3.12",
            architectures=["arm64"],
            handler="handler.handler",
            code=code,
            role=role.role.arn,
            memory_size=memory_size,
            timeout=timeout,
            environment=environment,
            kms_key_arn=kms_key_arn,
            vpc_config=vpc_config,
            replace_security_groups_on_destroy=security_group_on_destroy is not None or None,
            replacement_security_group_ids=(
                [security_group_on_destroy] if security_group_on_destroy is not None else None
            ),
            reserved_concurrent_executions=reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=log_group.name
            ),
            tags=name_tag(function_name),
        ),
        opts=after(opts, log_group, role.policy),
    )
