"""DnsFirewall component: the VPC resolver answers only the names the stack needs, and logs all.

Security groups do not filter the VPC's resolver (AmazonProvidedDNS), so without this, code in
a task could carry data out in the names it looks up (``<card data>.attacker.example``): the
resolver would recurse to the attacker's name servers. For the VPC it creates:
- the domain list ``dns-allowed-{suffix}``: the AWS names the tasks and functions in the VPC
  resolve (``AWS_NAMES``, each with its callers) plus ``payments:dnsAllowList``;
- the domain list ``dns-every-domain-{suffix}``: ``*``;
- the rule group ``dns-firewall-{suffix}``: ALLOW the first list (priority 100), then BLOCK
  the second with NXDOMAIN (priority 200): every other name is refused before the resolver
  recurses, so the query never leaves AWS;
- its association with the VPC (``ASSOCIATION_PRIORITY``) and the VPC's firewall
  configuration, failing closed (``FAIL_OPEN``; docs/security.md says why);
- Resolver query logging of the VPC into ``/aws/route53resolver/dns-queries-{suffix}``
  (30 days, the logs key), with the log group's resource policy that lets CloudWatch Logs'
  delivery service write there for this account only (made by the stack, so it goes with it);
- a metric filter counting the queries the firewall blocked, and an alarm on them.

AWS behaviour this relies on (Route 53 Developer Guide, "Using DNS Firewall to filter outbound
DNS traffic"): the firewall filters every query that reaches the VPC resolver, names in
private hosted zones, the interface endpoints' private DNS names and EC2's own names included,
so those must be allowed too. Fargate platform 1.4.0 sends the agent's traffic (image pull,
awslogs, secrets injection) through the task's network interface in the VPC (ECS Developer
Guide, "Migrating to Linux platform version 1.4.0"), so the agent's names are here as well.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import log_group
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.policies import regional_service
from payments_infra.aws.tagging import name_tag
from payments_infra.components.network.endpoint_policies import ECR_LAYER_BUCKET
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.name_rules import firewall_domain_problems
from payments_infra.config.naming import Names, physical_name

R = REQUIRED_REGION
# The AWS names something in the private subnets resolves, by the VPC endpoint (endpoints.py,
# SERVICES, where each caller is named) that answers it; tests/unit/test_dns_firewall.py holds
# this table to SERVICES, so a new endpoint without its name fails there, not in production.
ENDPOINT_DOMAINS: dict[str, tuple[str, ...]] = {
    # GetAuthorizationToken, by the Fargate agent before a pull.
    "ecr.api": (f"api.ecr.{R}.amazonaws.com",),
    # The registry, <account>.dkr.ecr.<region>.amazonaws.com: the image's own name.
    "ecr.dkr": (f"*.dkr.ecr.{R}.amazonaws.com",),
    # The awslogs driver, run by the Fargate agent; the API's metrics (EMF) go the same way.
    "logs": (regional_service("logs"),),
    # The agent injecting secrets, the API re-reading its login, the rotation function.
    "secretsmanager": (regional_service("secretsmanager"),),
}
OTHER_DOMAINS: tuple[str, ...] = (
    # The image layers, from ECR's bucket through the S3 gateway endpoint. Which of S3's host
    # forms ECR's download URLs use is not documented: both, for this one bucket, and S3's
    # own fixed names (path-style).
    f"{ECR_LAYER_BUCKET}.s3.{R}.amazonaws.com",
    f"{ECR_LAYER_BUCKET}.s3.amazonaws.com",
    f"s3.{R}.amazonaws.com",
    "s3.amazonaws.com",
    # Aurora: the cluster, reader and instance endpoints (the cluster's are CNAMEs to them),
    # for the API, the migrations, the key CLI and the rotation function.
    f"*.{R}.rds.amazonaws.com",
    # EC2's own names, which the resolver answers inside the VPC (us-east-1's are
    # ip-10-0-0-1.ec2.internal): a task looking up its own host name must not fail. Nothing
    # asked there leaves the VPC, so they carry nothing out.
    "ec2.internal",
    "*.ec2.internal",
)
AWS_NAMES: tuple[str, ...] = (
    *(name for names in ENDPOINT_DOMAINS.values() for name in names),
    *OTHER_DOMAINS,
)
EVERY_DOMAIN = "*"
ALLOW_PRIORITY = 100
BLOCK_PRIORITY = 200
# NXDOMAIN, not NODATA: "no such name" fails a client at once and the same way for every
# record type, where NODATA ("the name exists, without this record") invites it to try others.
BLOCK_RESPONSE = "NXDOMAIN"
# AssociateFirewallRuleGroup allows 100 to 9900 (botocore's route53resolver model, Priority);
# Firewall Manager's organisation-wide groups take the places before and after that range.
ASSOCIATION_PRIORITY = 100
# Fail closed (AWS's default, set explicitly so the graph shows it): when the firewall cannot
# answer, the resolver refuses the query (SERVFAIL) rather than letting it through unfiltered.
FAIL_OPEN = "DISABLED"
# UpdateFirewallDomains takes at most 1000 domains per request (botocore's model).
MAX_DOMAINS = 1000
BLOCKED_NAMESPACE = "Payments/DnsFirewall"
BLOCKED_METRIC = "BlockedQueries"
# A query log record's action field (Route 53 Developer Guide, "Values that appear in VPC
# Resolver query logs": firewall_rule_action).
BLOCKED_PATTERN = '{ $.firewall_rule_action = "BLOCK" }'


def allowed_domains(extra: Sequence[str]) -> list[str]:
    """The allow-list: the AWS names the stack needs, then ``extra`` (payments:dnsAllowList),
    each once. Raises ValueError naming every entry DNS Firewall would refuse, before any
    resource exists."""
    domains = list(dict.fromkeys([*AWS_NAMES, *extra]))
    problems = [
        f'DNS Firewall domain "{domain}" must {rule}'
        for domain in domains
        for rule in firewall_domain_problems(domain)
    ]
    if EVERY_DOMAIN in domains:
        problems.append('the allow-list must not hold "*": it would allow every name')
    if len(domains) > MAX_DOMAINS:
        problems.append(f"the allow-list must hold at most {MAX_DOMAINS} domains")
    if problems:
        raise ValueError("; ".join(problems))
    return domains


def query_log_delivery_policy(account_id: str, log_group_arn: str) -> str:
    """The log group's resource policy: CloudWatch Logs' delivery service may write this
    account's vended logs (Resolver's query logs) to this group's streams, and nothing else.

    AWS's own shape (CloudWatch Logs User Guide, "Logs sent to CloudWatch Logs", the policy
    AWS would otherwise add itself), scoped to one log group instead of the account.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ResolverQueryLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "delivery.logs.amazonaws.com"},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:log-stream:*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{R}:{account_id}:*"},
                    },
                }
            ],
        }
    )


@dataclass(frozen=True, kw_only=True)
class DnsFirewallArgs:
    """Inputs of the DnsFirewall component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    vpc_id: pulumi.Input[str]
    """The VPC whose resolver it filters and logs. Required."""
    account_id: pulumi.Input[str]
    """The AWS account: the only one whose log delivery may write the query logs. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The logs key (LogsKey), for the query log group. Required."""
    extra_domains: Sequence[str] = ()
    """payments:dnsAllowList: names outside AWS the tasks may resolve. Default: none."""


class DnsFirewall(pulumi.ComponentResource):
    """Route 53 Resolver DNS Firewall and query logging for one VPC."""

    def __init__(
        self, name: str, args: DnsFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:network:DnsFirewall", name, None, opts)
        self.allowed_domains = allowed_domains(args.extra_domains)  # before any child
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        self._create_firewall(args.vpc_id)
        self._create_query_logging(args)
        self.alarms = [self._blocked_alarm()]
        self.dashboard_widgets: list[DashboardWidget] = []
        self.register_outputs(
            {
                "rule_group_id": self.rule_group.id,
                "query_log_group_name": self.query_log_group.name,
            }
        )

    def _domain_list(self, label: str, name: str, domains: list[str]) -> pulumi.Output[str]:
        domain_list = aws.route53.ResolverFirewallDomainList(
            f"{self._name}-{label}",
            aws.route53.ResolverFirewallDomainListArgs(
                name=name, domains=domains, tags=name_tag(name)
            ),
            opts=self._child,
        )
        return domain_list.id

    def _create_firewall(self, vpc_id: pulumi.Input[str]) -> None:
        allowed = self._domain_list(
            "allowed", physical_name(Names.dns_allowed_domains, self._suffix), self.allowed_domains
        )
        every = self._domain_list(
            "every-domain", physical_name(Names.dns_every_domain, self._suffix), [EVERY_DOMAIN]
        )
        group_name = physical_name(Names.dns_firewall, self._suffix)
        self.rule_group = aws.route53.ResolverFirewallRuleGroup(
            f"{self._name}-rules",
            aws.route53.ResolverFirewallRuleGroupArgs(name=group_name, tags=name_tag(group_name)),
            opts=self._child,
        )
        allow = aws.route53.ResolverFirewallRule(
            f"{self._name}-allow",
            aws.route53.ResolverFirewallRuleArgs(
                name=physical_name(Names.dns_allow_rule, self._suffix),
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=allowed,
                priority=ALLOW_PRIORITY,
                action="ALLOW",
                # An allowed name's CNAME chain ends at names of the service's choosing (S3's
                # s3-r-w..., a processor's CDN): trusting the chain keeps them working, and the
                # name asked, the one that could carry data, is the one checked.
                firewall_domain_redirection_action="TRUST_REDIRECTION_DOMAIN",
            ),
            opts=self._child,
        )
        block = aws.route53.ResolverFirewallRule(
            f"{self._name}-block",
            aws.route53.ResolverFirewallRuleArgs(
                name=physical_name(Names.dns_block_rule, self._suffix),
                firewall_rule_group_id=self.rule_group.id,
                firewall_domain_list_id=every,
                priority=BLOCK_PRIORITY,
                action="BLOCK",
                block_response=BLOCK_RESPONSE,
            ),
            opts=self._child,
        )
        association_name = physical_name(Names.dns_firewall_association, self._suffix)
        # Attached once both rules exist: the VPC never sees the block without the allow.
        self.association = aws.route53.ResolverFirewallRuleGroupAssociation(
            f"{self._name}-vpc",
            aws.route53.ResolverFirewallRuleGroupAssociationArgs(
                name=association_name,
                firewall_rule_group_id=self.rule_group.id,
                vpc_id=vpc_id,
                priority=ASSOCIATION_PRIORITY,
                tags=name_tag(association_name),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=[allow, block])
            ),
        )
        aws.route53.ResolverFirewallConfig(
            f"{self._name}-fail-closed",
            aws.route53.ResolverFirewallConfigArgs(
                resource_id=vpc_id, firewall_fail_open=FAIL_OPEN
            ),
            opts=self._child,
        )

    def _create_query_logging(self, args: DnsFirewallArgs) -> None:
        self.query_log_group = log_group(
            f"{self._name}-query-logs",
            Names.dns_query_log_group,
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        self.log_groups = [self.query_log_group]
        # Made by the stack so that it is destroyed with it; AWS would otherwise add one
        # itself when the deployer may, and leave it behind.
        policy = aws.cloudwatch.LogResourcePolicy(
            f"{self._name}-query-log-delivery",
            aws.cloudwatch.LogResourcePolicyArgs(
                policy_name=physical_name(Names.dns_query_log_policy, self._suffix),
                resource_arn=self.query_log_group.arn,
                policy_document=pulumi.Output.all(args.account_id, self.query_log_group.arn).apply(
                    lambda v: query_log_delivery_policy(v[0], v[1])
                ),
            ),
            opts=self._child,
        )
        config_name = physical_name(Names.dns_query_log_config, self._suffix)
        config = aws.route53.ResolverQueryLogConfig(
            f"{self._name}-query-log-config",
            aws.route53.ResolverQueryLogConfigArgs(
                name=config_name,
                destination_arn=self.query_log_group.arn,
                tags=name_tag(config_name),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=[policy])
            ),
        )
        self.query_log_association = aws.route53.ResolverQueryLogConfigAssociation(
            f"{self._name}-query-log-vpc",
            aws.route53.ResolverQueryLogConfigAssociationArgs(
                resolver_query_log_config_id=config.id, resource_id=args.vpc_id
            ),
            opts=self._child,
        )
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-blocked-queries",
            aws.cloudwatch.LogMetricFilterArgs(
                name=physical_name(Names.dns_blocked_filter, self._suffix),
                log_group_name=self.query_log_group.name,
                pattern=BLOCKED_PATTERN,
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=BLOCKED_METRIC, namespace=BLOCKED_NAMESPACE, value="1"
                ),
            ),
            opts=self._child,
        )

    def _blocked_alarm(self) -> AlarmSpec:
        log_name = physical_name(Names.dns_query_log_group, self._suffix)
        return AlarmSpec(
            name=physical_name(Names.alarm_dns_blocked, self._suffix),
            namespace=BLOCKED_NAMESPACE,
            metric=BLOCKED_METRIC,
            dimensions={},
            comparison="GreaterThanThreshold",
            threshold=0,
            period=300,
            evaluation_periods=1,
            why="The VPC's DNS Firewall refused a name: code in the VPC looked up a name "
            "outside its allow-list (a new dependency, or data leaving in DNS queries).",
            runbook=f'Logs Insights on {log_name}: filter firewall_rule_action = "BLOCK", '
            "by query_name and srcids.",
            action="A name the service needs: add it to payments:dnsAllowList and make up. "
            "Anything else: treat as an incident (docs/security.md, DNS).",
        )
