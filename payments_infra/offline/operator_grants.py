"""What the operator policies (operator_policies.py) grant, as reviewed tables: the IAM
prefix of each service, the rows of the verifier's and the key operator's statements, their
conditions, the service-linked roles, and the wildcards with their reasons.
"""

from __future__ import annotations

import re

from payments_infra.config import REQUIRED_REGION

REGION = REQUIRED_REGION
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# botocore's service name -> IAM's service prefix, where they differ.
IAM_PREFIXES = {"elbv2": "elasticloadbalancing"}
# api_calls.NOT_API_CALLS' types (no create call of their own) and the service each calls.
OTHER_TYPE_PREFIXES: dict[str, str | None] = {
    "aws:acm/certificateValidation:CertificateValidation": "acm",  # polls DescribeCertificate
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "ec2",  # revokes the default rules
    "docker-build:index:Image": "ecr",  # pushes to the stack's repository
    "random:index/randomPassword:RandomPassword": None,
    "tls:index/privateKey:PrivateKey": None,
    "tls:index/selfSignedCert:SelfSignedCert": None,
}
# The provider's data sources the program calls (mocks.py answers each), and what they read.
# In an action list, a name without a prefix takes the one before it.
INVOKE_ACTIONS: dict[str, str] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": "ec2:DescribeAvailabilityZones",
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": (
        "ec2:DescribeManagedPrefixLists GetManagedPrefixListEntries"
    ),
    "aws:rds/getEngineVersion:getEngineVersion": "rds:DescribeDBEngineVersions",
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": "ecr:GetAuthorizationToken",
    "aws:index/getCallerIdentity:getCallerIdentity": "",  # STS: needs no permission
    # For a session, the provider looks the role up (its path is not in the session's ARN).
    "aws:iam/getSessionContext:getSessionContext": "iam:GetRole",
}
# Services the deployer gets on the stack's own resources only, and the types their
# statements were written for (None: any type, the resources being named): review a new one.
SCOPED_TYPES: dict[str, set[str] | None] = {
    "iam": {ROLE, "aws:iam/rolePolicy:RolePolicy", ATTACHMENT},
    "route53": {"aws:route53/record:Record"},
    "s3": None,
    "secretsmanager": None,
}
ROLE_ACTIONS = (
    "iam:CreateRole GetRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy DeleteRole "
    "TagRole UntagRole ListRoleTags PutRolePolicy GetRolePolicy DeleteRolePolicy "
    "ListRolePolicies ListAttachedRolePolicies ListInstanceProfilesForRole"
)
# Types that make AWS create a service-linked role on first use (deploy.md, "What a destroy
# leaves").
SERVICE_LINKED: dict[str, str] = {
    "aws:ecs/cluster:Cluster": "ecs.amazonaws.com",
    "aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing.amazonaws.com",
    "aws:rds/cluster:Cluster": "rds.amazonaws.com",
    "aws:appautoscaling/target:Target": "ecs.application-autoscaling.amazonaws.com",
    "aws:guardduty/detector:Detector": "guardduty.amazonaws.com",
    "aws:securityhub/account:Account": "securityhub.amazonaws.com",
}
# The statements that may hold a wildcard action, and why.
WILDCARDS: dict[str, str] = {
    "GraphServices": (
        "Pulumi's AWS provider calls dozens of actions per resource type (create, read back "
        "every attribute and tag, modify, delete, its waiters), which change with its version: "
        "a list would stop `make up` halfway. Held to the graph's services, in us-east-1."
    ),
    "StackBuckets": "Every part of a bucket is read back on refresh; held to the stack's buckets.",
    "StackSecrets": "Held to the stack's secrets, by name (the deployer writes their values).",
}
# Calls the live tests make that the verifier is refused on purpose, and why.
VERIFIER_WITHHELD: dict[str, str] = {
    "secretsmanager:GetSecretValue": "the database secret holds the master password; the test "
    "that reads it skips without it, and another checks the secret's metadata instead",
}
# Statement id, actions, resources: "*" or templates of the names ``_names_of`` makes, where
# {ecs} is "arn:aws:ecs:us-east-1:<account>:". CONDITIONS: the conditions some rows carry.
VERIFIER: tuple[tuple[str, str, str], ...] = (
    # EC2's (but one), ELB's and Application Auto Scaling's describe calls take no resource.
    ("ReadVpc", "ec2:DescribeVpcs DescribeSubnets", "*"),
    ("ReadVpcAttributes", "ec2:DescribeVpcAttribute", "{ec2}vpc/*"),
    ("ReadRouting", "ec2:DescribeNatGateways DescribeRouteTables DescribeVpcEndpoints", "*"),
    ("ReadGroups", "ec2:DescribeSecurityGroups DescribeSecurityGroupRules", "*"),
    ("ReadInterfaces", "ec2:DescribeNetworkInterfaces", "*"),
    ("ReadLoadBalancer", "elasticloadbalancing:DescribeLoadBalancers", "*"),
    ("ReadListeners", "elasticloadbalancing:DescribeListeners DescribeTargetHealth", "*"),
    ("ReadAlbAttributes", "elasticloadbalancing:DescribeLoadBalancerAttributes", "*"),
    ("ReadScaling", "application-autoscaling:DescribeScalableTargets", "*"),
    ("ReadScalingPolicies", "application-autoscaling:DescribeScalingPolicies", "*"),
    ("ReadService", "ecs:DescribeServices", "{ecs}service/{cluster}/{service}"),
    ("ReadTasks", "ecs:DescribeTasks", "{ecs}task/{cluster}/*"),
    ("ListTasks", "ecs:ListTasks", "*"),
    ("ReadTaskDefinitions", "ecs:DescribeTaskDefinition", "*"),
    ("ReadCluster", "rds:DescribeDBClusters", "{rds}cluster:{db_cluster}"),
    ("ReadInstances", "rds:DescribeDBInstances", "{rds}db:{writer} {rds}db:{reader}"),
    ("ReadParameters", "rds:DescribeDBClusterParameters", "{rds}cluster-pg:{parameters}"),
    ("ReadSecretMetadata", "secretsmanager:DescribeSecret", "{db_secrets}"),
    ("ListLogGroups", "logs:DescribeLogGroups", "*"),
    ("ReadLogs", "logs:DescribeLogStreams FilterLogEvents", "{checked_log_groups}"),
    ("ReadAlarms", "cloudwatch:DescribeAlarms", "{cloudwatch}alarm:*"),
    ("ReadDistribution", "cloudfront:GetDistribution", "{distributions}"),
    ("ReadSiteWebAcl", "wafv2:GetWebACL", "{wafv2}global/webacl/{site_acl}/*"),
    ("ReadAlbWebAcl", "wafv2:GetWebACLForResource", "{wafv2}regional/webacl/{alb_acl}/* {alb}"),
)
KEY_OPERATOR: tuple[tuple[str, str, str], ...] = (
    ("ReadTheService", "ecs:DescribeServices", "{ecs}service/{cluster}/{service}"),
    ("RunTheKeyTask", "ecs:RunTask", "{ecs}task-definition/{keys_family}:*"),
    ("PassTheKeyTaskRole", "iam:PassRole", "{keys_task_roles}"),
    ("WatchTheTask", "ecs:DescribeTasks", "{ecs}task/{cluster}/*"),
    ("ReadTheTaskOutput", "logs:FilterLogEvents", "{keys_log_group}"),
)
CONDITIONS = {
    "ListTasks": {"ArnEquals": {"ecs:cluster": "{ecs}cluster/{cluster}"}},
    "RunTheKeyTask": {"ArnEquals": {"ecs:cluster": "{ecs}cluster/{cluster}"}},
    "PassTheKeyTaskRole": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
}
# "logs.us-east-1.amazonaws.com" -> "logs.amazonaws.com", the name PassRole is checked with.
REGIONAL_PRINCIPAL = re.compile(r"([a-z0-9-]+)\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com")
