"""Password rotation of the database secret, part of the Database component.

With ``payments:dbRotationDays`` above 0, ``create_rotation`` deploys AWS's single-user
PostgreSQL rotation function (from the Serverless Application Repository) into the private
subnets, with its own security group (out to the database and to HTTPS only, and let into the
database), a 30-day log group made first, and the schedule that runs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.naming import physical_name
from payments_infra.aws.options import after
from payments_infra.aws.policies import regional_service
from payments_infra.aws.security_groups import (
    HTTPS_PORT,
    Connectable,
    Rule,
    allow,
    security_group_rule,
)
from payments_infra.aws.tagging import name_tag

# AWS's rotation function for one PostgreSQL user (Secrets Manager docs, "rotation function
# templates"), published from us-east-1 for every region; it expects the secret JSON that
# database.secret_document writes.
ROTATION_APPLICATION_ID = (
    "arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
    "SecretsManagerRDSPostgreSQLRotationSingleUser"
)
# Characters the rotation function must not put in a new password: the ones AWS excludes by
# default, plus those that would need escaping in a connection URL.
ROTATION_EXCLUDED_CHARACTERS = "/@\"'\\:?#[]%&+=;, "


def create_rotation(
    name: str,
    *,
    rotation_days: int,
    database: Connectable,
    port: int,
    vpc_id: pulumi.Input[str],
    private_subnet_ids: Sequence[pulumi.Input[str]],
    key_arn: pulumi.Input[str],
    log_kms_key_arn: pulumi.Input[str],
    secret: aws.secretsmanager.Secret,
    wait_for: Sequence[pulumi.Resource],
) -> aws.cloudwatch.LogGroup:
    """The rotation function reaching the database and the Secrets Manager API (through the
    NAT gateways), and the schedule that runs it once ``wait_for`` exist. Its resources are
    children of the database (``database.opts``). Returns the function's log group."""
    suffix, opts = database.suffix, database.opts
    function_name = physical_name("db_rotation_function", suffix)
    group_name = physical_name("db_rotation_security_group", suffix)
    group = aws.ec2.SecurityGroup(
        f"{name}-rotation-sg",
        aws.ec2.SecurityGroupArgs(
            name=group_name,
            description="Password rotation function: out to the database and AWS APIs only",
            vpc_id=vpc_id,
            tags=name_tag(group_name),
        ),
        opts=opts,
    )
    function = Connectable(group.id, name, suffix, opts)
    allow(
        function,
        database,
        port,
        egress=Rule(
            "rotation-to-db", "db_rotation_egress_to_db", "PostgreSQL, to change the password"
        ),
        ingress=Rule(
            "ingress-from-rotation",
            "db_ingress_from_rotation",
            "PostgreSQL over TLS from the password rotation function",
        ),
    )
    security_group_rule(
        f"{name}-rotation-to-https",
        "egress",
        name_key="db_rotation_egress_to_aws",
        suffix=suffix,
        security_group_id=group.id,
        cidr_ipv4="0.0.0.0/0",
        port=HTTPS_PORT,
        description="HTTPS to the Secrets Manager API, through the NAT gateways",
        opts=opts,
    )
    rotation_logs = log_group(
        f"{name}-rotation-logs",
        "db_rotation_log_group",
        suffix,
        kms_key_arn=log_kms_key_arn,
        opts=opts,
    )
    stack_name = physical_name("db_rotation_stack", suffix)
    rotation_app = aws.serverlessrepository.CloudFormationStack(
        f"{name}-rotation",
        aws.serverlessrepository.CloudFormationStackArgs(
            name=stack_name,
            application_id=ROTATION_APPLICATION_ID,
            capabilities=["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
            parameters={
                "functionName": function_name,
                "endpoint": f"https://{regional_service('secretsmanager')}",
                "kmsKeyArn": key_arn,
                "vpcSubnetIds": pulumi.Output.all(*private_subnet_ids).apply(",".join),
                "vpcSecurityGroupIds": group.id,
                "excludeCharacters": ROTATION_EXCLUDED_CHARACTERS,
            },
            tags=name_tag(stack_name),
        ),
        # The function's log group must exist before the function first runs.
        opts=after(opts, rotation_logs),
    )
    aws.secretsmanager.SecretRotation(
        f"{name}-credentials-rotation",
        aws.secretsmanager.SecretRotationArgs(
            secret_id=secret.id,
            rotation_lambda_arn=rotation_app.outputs.apply(
                lambda outputs: outputs["RotationLambdaARN"]
            ),
            rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                automatically_after_days=rotation_days
            ),
        ),
        opts=after(opts, *wait_for),
    )
    return rotation_logs
