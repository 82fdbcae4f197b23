"""ApiLoadBalancer component: the API's HTTPS-only Application Load Balancer, part of ApiService.

Creates:
- the security group ``alb-sg-{suffix}``, taking TCP 443 only: from anywhere (IPv4 and IPv6),
  or with ``payments:albIngress: cloudfront`` from CloudFront's origin-facing prefix list;
  what it may reach is wired by ``allow`` (the API tasks on 8443, see service.py);
- the access-log bucket ``alb-logs-{suffix}`` (SSE-S3, as ALB log delivery requires; public
  access blocked; TLS-only policy that lets only ELB log delivery write; 30-day expiry;
  emptied on destroy);
- the ALB ``alb-{suffix}`` in the public subnets (invalid headers dropped, strictest desync
  mitigation, access logs on, no deletion protection), its only listener, HTTPS on 443 with
  an explicit TLS policy (the API's default is still the 2016 one), and the target group
  ``tg-api-{suffix}`` (HTTPS to the tasks, health check ``/healthz`` every 30 s);
- the ALB's own web ACL ``waf-alb-{suffix}`` (REGIONAL, the rules of web_acl.py, logs to
  ``aws-waf-logs-alb-{suffix}``) and its association with the ALB: no request reaches the API
  without passing a WAF, whichever way it comes;
- what the listener forwards (``forwarding_rules``); everything else gets a fixed 403:
  - when CloudFront routes ``/api`` here (``cloudfront_origin``), the secret origin header
    (origin_header.py) CloudFront adds;
  - with ``payments:albIngress: cloudfront``, only requests carrying that header, so another
    customer's distribution, which the prefix list also admits, gets 403;
  - with ``internet``, where API clients call ``api.<domain>`` directly, the API's paths
    (``/api/*``, ``/healthz``, ``/readyz``) from anyone: this web ACL guards them;
- in certificate mode 1, the Route 53 alias ``api.<domain>`` for the ALB.

It exposes five alarms (ALB 5xx, target 5xx, p99 latency, unhealthy hosts, WAF blocks) and
three dashboard widgets. It came out of ApiService and keeps its name, so its resources keep
their logical names (options.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.buckets import lifecycle_rule, private_bucket
from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.aws.naming import physical_name
from payments_infra.aws.options import after
from payments_infra.aws.policies import deny_insecure_transport, policy_document
from payments_infra.aws.security_groups import HTTPS_PORT, Connectable, security_group_rule
from payments_infra.aws.tagging import name_tag
from payments_infra.components.autoscaling import MAX_TASKS
from payments_infra.components.origin_header import OriginHeader, create_origin_header
from payments_infra.components.task_definition import (
    CONTAINER_PORT,
    HEALTH_CHECK_INTERVAL_SECONDS,
    HEALTH_CHECK_PATH,
)
from payments_infra.components.web_acl import WebAclSpec, create_web_acl, waf_monitoring
from payments_infra.config import Ingress, ServiceSettings

# The ALB stops sending new requests at once; in-flight ones get this long.
DEREGISTRATION_DELAY_SECONDS = 30
# The ELB account that writes access logs in us-east-1 (ELB access-log documentation).
ELB_LOG_ACCOUNT_US_EAST_1 = "127311923021"
ALB_LOG_DAYS = 30
# What the API serves (app/api: the payments routes, liveness, readiness). In internet mode the
# listener forwards only these; a scan of anything else gets the listener's 403.
API_PATHS = ("/api/*", HEALTH_CHECK_PATH, "/readyz")
# Listener rules are evaluated by priority, lowest first.
FROM_CLOUDFRONT_PRIORITY = 10
API_PATHS_PRIORITY = 20


@dataclass(frozen=True, kw_only=True)
class ApiLoadBalancerArgs:
    """Inputs of the ApiLoadBalancer component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: ServiceSettings
    """The TLS policy and who may reach the ALB (StackConfig.service). Required."""
    vpc_id: pulumi.Input[str]
    """The VPC. Required."""
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the ALB goes. Required."""
    internet_gateway: pulumi.Resource
    """The VPC's internet gateway: AWS refuses an internet-facing ALB before it. Required."""
    certificate_arn: pulumi.Input[str]
    """The listener's certificate (Certificates component). Required."""
    account_id: pulumi.Input[str]
    """The AWS account, whose prefix of the log bucket ELB may write. Required."""
    api_domain_name: str | None = None
    """The name the certificate covers (modes 1 and 2), used for api_url. Default: None."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone where an alias for api_domain_name is made. Default: None."""
    cloudfront_prefix_list_id: pulumi.Input[str] | None = None
    """With ingress "cloudfront": CloudFront's origin-facing prefix list. Default: None."""
    waf_rate_limit: int
    """Requests per client IP per 5 minutes before the ALB's web ACL blocks the IP. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key the web ACL's log group is encrypted with (keys.LogsKey). Required."""
    cloudfront_origin: bool = False
    """CloudFront routes /api here (api_domain_name is its origin): the ALB makes the origin
    header CloudFront proves itself with. Required with ingress "cloudfront". Default: False."""


class ApiLoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB: HTTPS on 443 only, forwarding to the tasks over HTTPS."""

    def __init__(
        self, name: str, args: ApiLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.settings.ingress == Ingress.CLOUDFRONT and not args.cloudfront_origin:
            raise ValueError(
                'ApiLoadBalancerArgs.cloudfront_origin must be True with ingress "cloudfront": '
                "otherwise nothing could pass the listener"
            )
        super().__init__("payments:service:ApiLoadBalancer", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        self.origin_header: OriginHeader | None = None
        if args.cloudfront_origin:
            self.origin_header = create_origin_header(
                name, self._suffix, account_id=args.account_id, opts=self._child
            )
        self._create_security_group(args)
        self._create_log_bucket(args.account_id)
        self._create_load_balancer(args)
        self._create_forwarding_rules(args.settings.ingress)
        self._create_web_acl(args)
        if args.api_domain_name and args.hosted_zone_id:
            self._create_alias_record(args.api_domain_name, args.hosted_zone_id)

        self.alb_arn = self.alb.arn
        self.alb_dns_name = self.alb.dns_name
        self.log_bucket_name = self.log_bucket.bucket
        self.log_bucket_arn = self.log_bucket.arn
        self.api_url = (
            pulumi.Output.from_input(f"https://{args.api_domain_name}")
            if args.api_domain_name
            else self.alb.dns_name.apply(lambda dns: f"https://{dns}")
        )
        self._describe_monitoring()
        self.register_outputs(
            {
                "alb_dns_name": self.alb_dns_name,
                "api_url": self.api_url,
                "log_bucket_name": self.log_bucket_name,
                "web_acl_arn": self.web_acl.arn,
            }
        )

    def _create_security_group(self, args: ApiLoadBalancerArgs) -> None:
        group_name = physical_name("alb_security_group", self._suffix)
        self.security_group = aws.ec2.SecurityGroup(
            f"{self._name}-alb-sg",
            aws.ec2.SecurityGroupArgs(
                name=group_name,
                description="ALB: HTTPS in, the API tasks out",
                vpc_id=args.vpc_id,
                tags=name_tag(group_name),
            ),
            opts=self._child,
        )
        self.connections = Connectable(
            self.security_group.id, self._name, self._suffix, self._child
        )

        def https_from(
            key: str,
            description: str,
            *,
            cidr_ipv4: str | None = None,
            cidr_ipv6: str | None = None,
            prefix_list_id: pulumi.Input[str] | None = None,
        ) -> None:
            security_group_rule(
                f"{self._name}-{key}",
                "ingress",
                name_key=f"sg_rule_{key}",
                suffix=self._suffix,
                security_group_id=self.security_group.id,
                port=HTTPS_PORT,
                description=description,
                cidr_ipv4=cidr_ipv4,
                cidr_ipv6=cidr_ipv6,
                prefix_list_id=prefix_list_id,
                opts=self._child,
            )

        if args.settings.ingress == Ingress.CLOUDFRONT:
            https_from(
                "alb_in_https_cloudfront",
                "HTTPS from the CloudFront origin-facing addresses only",
                prefix_list_id=args.cloudfront_prefix_list_id,
            )
        else:
            https_from(
                "alb_in_https_ipv4",
                "HTTPS from the Internet (IPv4); port 80 stays closed",
                cidr_ipv4="0.0.0.0/0",
            )
            https_from(
                "alb_in_https_ipv6",
                "HTTPS from the Internet (IPv6); port 80 stays closed",
                cidr_ipv6="::/0",
            )

    def _create_log_bucket(self, account_id: pulumi.Input[str]) -> None:
        # SSE-S3: ALB access logs support no KMS key (ELB documentation).
        self.log_bucket = private_bucket(
            f"{self._name}-alb-logs", "alb_logs_bucket", self._suffix, opts=self._child
        )
        bucket = self.log_bucket.bucket
        lifecycle_rule(
            f"{self._name}-alb-logs-expiry",
            bucket,
            "expire-access-logs",
            expire_after_days=ALB_LOG_DAYS,
            abort_uploads_after_days=1,
            opts=self._child,
        )
        self.log_bucket_policy = aws.s3.BucketPolicy(
            f"{self._name}-alb-logs-policy",
            aws.s3.BucketPolicyArgs(
                bucket=bucket,
                policy=pulumi.Output.all(self.log_bucket.arn, account_id).apply(
                    lambda values: alb_log_bucket_policy(*values)
                ),
            ),
            opts=self._child,
        )

    def _create_load_balancer(self, args: ApiLoadBalancerArgs) -> None:
        self.alb = aws.lb.LoadBalancer(
            f"{self._name}-alb",
            aws.lb.LoadBalancerArgs(
                name=physical_name("alb", self._suffix),
                load_balancer_type="application",
                internal=False,
                subnets=list(args.public_subnet_ids),
                security_groups=[self.security_group.id],
                drop_invalid_header_fields=True,
                desync_mitigation_mode="strictest",
                enable_deletion_protection=False,
                access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=self.log_bucket.bucket, enabled=True
                ),
                tags=name_tag(physical_name("alb", self._suffix)),
            ),
            # The ALB checks at creation that it may write to the bucket, and AWS refuses
            # an internet-facing ALB in a VPC with no internet gateway yet.
            opts=after(self._child, self.log_bucket_policy, args.internet_gateway),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{self._name}-tg",
            aws.lb.TargetGroupArgs(
                name=physical_name("target_group", self._suffix),
                target_type="ip",
                protocol="HTTPS",  # encrypted to the task too; the ALB does not verify it
                port=CONTAINER_PORT,
                vpc_id=args.vpc_id,
                deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    protocol="HTTPS",
                    path=HEALTH_CHECK_PATH,
                    port="traffic-port",
                    interval=HEALTH_CHECK_INTERVAL_SECONDS,
                    timeout=5,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                    matcher="200",
                ),
                tags=name_tag(physical_name("target_group", self._suffix)),
            ),
            opts=self._child,
        )
        self.listener = aws.lb.Listener(
            f"{self._name}-https",
            aws.lb.ListenerArgs(
                load_balancer_arn=self.alb.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                ssl_policy=args.settings.tls_policy,
                certificate_arn=args.certificate_arn,
                # Only what a listener rule below forwards reaches the tasks.
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="fixed-response",
                        fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                            content_type="application/json",
                            message_body='{"detail": "forbidden"}',
                            status_code="403",
                        ),
                    )
                ],
                tags=name_tag(physical_name("alb_listener", self._suffix)),
            ),
            opts=self._child,
        )

    def _create_forwarding_rules(self, ingress: Ingress) -> None:
        """The listener rules that forward to the tasks (``forwarding_rules``): CloudFront's
        requests by their origin header; in internet mode, the API's paths from anyone."""
        self.forwarding_rules: list[aws.lb.ListenerRule] = []
        if self.origin_header is not None:
            self.forwarding_rules.append(
                self._forward_when(
                    "from-cloudfront",
                    "alb_rule_from_cloudfront",
                    FROM_CLOUDFRONT_PRIORITY,
                    aws.lb.ListenerRuleConditionArgs(
                        # Compared case-insensitively, with * and ? as wildcards: the value
                        # has neither (origin_header.py).
                        http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                            http_header_name=self.origin_header.name,
                            values=[self.origin_header.value],
                        )
                    ),
                )
            )
        if ingress == Ingress.INTERNET:
            self.forwarding_rules.append(
                self._forward_when(
                    "api-paths",
                    "alb_rule_api_paths",
                    API_PATHS_PRIORITY,
                    aws.lb.ListenerRuleConditionArgs(
                        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                            values=list(API_PATHS)
                        )
                    ),
                )
            )

    def _forward_when(
        self, key: str, name_key: str, priority: int, condition: aws.lb.ListenerRuleConditionArgs
    ) -> aws.lb.ListenerRule:
        return aws.lb.ListenerRule(
            f"{self._name}-rule-{key}",
            aws.lb.ListenerRuleArgs(
                listener_arn=self.listener.arn,
                priority=priority,
                conditions=[condition],
                actions=[
                    aws.lb.ListenerRuleActionArgs(
                        type="forward", target_group_arn=self.target_group.arn
                    )
                ],
                tags=name_tag(physical_name(name_key, self._suffix)),
            ),
            opts=self._child,
        )

    def _create_web_acl(self, args: ApiLoadBalancerArgs) -> None:
        self.web_acl, self.waf_log_group = create_web_acl(
            self._name,
            self._suffix,
            WebAclSpec(
                scope="REGIONAL",
                acl_key="alb_web_acl",
                log_group_key="alb_waf_log_group",
                description="The API on its load balancer, whichever way a request comes, "
                "PCI DSS 6.4.2",
                rate_limit=args.waf_rate_limit,
                trusted_origin=self.origin_header,
            ),
            log_kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        aws.wafv2.WebAclAssociation(
            f"{self._name}-waf-association",
            aws.wafv2.WebAclAssociationArgs(
                resource_arn=self.alb.arn, web_acl_arn=self.web_acl.arn
            ),
            opts=self._child,
        )

    def _create_alias_record(self, api_domain_name: str, hosted_zone_id: str) -> None:
        aws.route53.Record(
            f"{self._name}-api-alias",
            aws.route53.RecordArgs(
                zone_id=hosted_zone_id,
                name=api_domain_name,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.alb.dns_name,
                        zone_id=self.alb.zone_id,
                        evaluate_target_health=True,
                    )
                ],
            ),
            opts=self._child,
        )

    def _describe_monitoring(self) -> None:
        alb, target_group = self.alb.arn_suffix, self.target_group.arn_suffix
        waf_alarm, waf_widget = waf_monitoring(
            self.web_acl.name,
            "REGIONAL",
            alarm_key="alarm_alb_waf_blocked",
            log_group_key="alb_waf_log_group",
            where="at the ALB",
            title="ALB WAF allowed and blocked",
            suffix=self._suffix,
        )
        self.alarms = [
            *load_balancer_alarms(
                {"LoadBalancer": alb},
                {"LoadBalancer": alb, "TargetGroup": target_group},
                self._suffix,
            ),
            waf_alarm,
        ]
        by_target: list[pulumi.Input[str]] = ["LoadBalancer", alb, "TargetGroup", target_group]
        self.dashboard_widgets = [
            DashboardWidget(
                "ALB requests and 5xx",
                [
                    ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb],
                    ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                    ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *by_target],
                ],
            ),
            DashboardWidget(
                "API latency p99 (s)",
                [["AWS/ApplicationELB", "TargetResponseTime", *by_target]],
                stat="p99",
            ),
            waf_widget,
        ]


def load_balancer_alarms(
    alb: Mapping[str, pulumi.Input[str]], target: Mapping[str, pulumi.Input[str]], suffix: str
) -> list[AlarmSpec]:
    """Errors from the ALB and from the API, slow answers, failing tasks."""
    health = (
        "aws elbv2 describe-target-health --target-group-arn <the ARN of "
        f"{physical_name('target_group', suffix)}>"
    )
    logs = physical_name("api_log_group", suffix)
    return [
        AlarmSpec(
            physical_name("alarm_alb_5xx", suffix),
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            alb,
            "GreaterThanThreshold",
            10,
            "The ALB itself answers 5xx (no healthy target, overload): payments fail.",
            action=f"{health}: no healthy target, follow alarm-unhealthy-hosts' action; all "
            f"healthy at {MAX_TASKS} tasks: overload (docs/deploy.md, On-call: capacity limits).",
        ),
        AlarmSpec(
            physical_name("alarm_target_5xx", suffix),
            "AWS/ApplicationELB",
            "HTTPCode_Target_5XX_Count",
            target,
            "GreaterThanThreshold",
            10,
            "The API answers 5xx: a bug or the database is failing requests.",
            action=f"Logs Insights on {logs}: filter status >= 500 | stats count(*) by status, "
            "path. 503s: the database (the Aurora alarms' actions); 500s: a bug, roll back "
            "(docs/deploy.md, Rolling back).",
        ),
        AlarmSpec(
            physical_name("alarm_target_p99", suffix),
            "AWS/ApplicationELB",
            "TargetResponseTime",
            target,
            "GreaterThanThreshold",
            1.0,
            "p99 latency over 1 s for 5 minutes: checkout feels broken long before errors.",
            action="The API's PoolWait and DatabaseLatency (dashboard, business row) say where: "
            "the database, raise payments:dbMaxCapacity and make up; the tasks, see "
            "alarm-ecs-cpu's action (docs/deploy.md, On-call: capacity limits).",
            extended_statistic="p99",
        ),
        AlarmSpec(
            physical_name("alarm_unhealthy_hosts", suffix),
            "AWS/ApplicationELB",
            "UnHealthyHostCount",
            target,
            "GreaterThanThreshold",
            0,
            "A task fails its health checks: capacity is lower than it looks.",
            action=f"{health}, then the stopped tasks' stoppedReason (aws ecs list-tasks "
            f"--desired-status STOPPED, describe-tasks) and their last lines in {logs}; "
            "failing again after each replacement means a bad "
            "image or setting: roll back (docs/deploy.md, Rolling back) or undo the setting.",
            statistic="Maximum",
            evaluation_periods=3,
        ),
    ]


def alb_log_bucket_policy(bucket_arn: str, account_id: str) -> str:
    """Only ELB log delivery may write, only under this account's prefix; TLS only."""
    log_objects = f"{bucket_arn}/AWSLogs/{account_id}/*"
    return policy_document(
        {
            "Sid": "ElbAccountWritesAccessLogs",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNT_US_EAST_1}:root"},
            "Action": ["s3:PutObject"],
            "Resource": [log_objects],
        },
        {
            "Sid": "LogDeliveryWritesAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": ["s3:PutObject"],
            "Resource": [log_objects],
        },
        deny_insecure_transport(bucket_arn),
    )
