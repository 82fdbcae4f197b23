"""ApiLoadBalancer component: the API's HTTPS-only Application Load Balancer.

The ALB ``alb-{suffix}`` in the public subnets, its one HTTPS listener, the target group the
ECS service registers its tasks in, the access-log bucket, its own web ACL, and in certificate
mode 1 the alias ``api.<domain>``. Its security group is SecurityGroups.alb: who reaches it
is said in platform.py. docs/architecture.md (API tier) describes the tier. What the listener
forwards (``forwarding_rules``), everything else getting a fixed 403:

- when CloudFront routes ``/api`` here (``cloudfront_origin``), requests with the origin header
  (origin_header.py); with ``albIngress: cloudfront`` only those: other distributions get 403;
- with ``internet``, where API clients call ``api.<domain>`` directly, the API's paths
  (``/api/*``, ``/healthz``, ``/readyz``) from anyone: the web ACL guards them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.access import Custodians
from payments_infra.aws.buckets import lifecycle_rule, private_bucket, versioned
from payments_infra.aws.options import after
from payments_infra.aws.policies import deny_insecure_transport, policy_document
from payments_infra.aws.security_groups import HTTPS_PORT
from payments_infra.aws.tagging import name_tag
from payments_infra.components.api.task_definition import (
    CONTAINER_PORT,
    HEALTH_CHECK_INTERVAL_SECONDS,
    HEALTH_CHECK_PATH,
)
from payments_infra.components.edge.load_balancer_alarms import load_balancer_monitoring
from payments_infra.components.edge.origin_header import (
    ROTATED_PATHS,
    OriginChecks,
    OriginHeader,
    create_origin_header,
)
from payments_infra.components.edge.web_acl import WebAclSpec, create_web_acl
from payments_infra.config import Ingress, ServiceSettings
from payments_infra.config.naming import Names, PhysicalName, physical_name

# The ALB stops sending new requests at once; in-flight ones get this long.
DEREGISTRATION_DELAY_SECONDS = 30
# A client or task connection idle this long is closed by the ALB (ELB's default, set so it is
# seen): the API's keep-alive (task_definition.KEEP_ALIVE_SECONDS) must be longer (AWS's advice).
IDLE_TIMEOUT_SECONDS = 60
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
    """The VPC of the target group. Required."""
    security_group_id: pulumi.Input[str]
    """The ALB's group (SecurityGroups.alb): who may reach it, and it the tasks, platform.py
    says with ``allow``. Required."""
    public_subnet_ids: Sequence[pulumi.Input[str]]
    """Where the ALB goes. Required."""
    internet_gateway: pulumi.Resource
    """The VPC's internet gateway: AWS refuses an internet-facing ALB before it. Required."""
    certificate_arn: pulumi.Input[str]
    """The listener's certificate (Certificates component). Required."""
    account_id: pulumi.Input[str]
    """The AWS account, whose prefix of the log bucket ELB may write. Required."""
    custodians: Custodians
    """Who may open the origin header's secret and administer its key. Required."""
    api_domain_name: str | None = None
    """The name the certificate covers (modes 1 and 2), used for api_url. Default: None."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone where an alias for api_domain_name is made. Default: None."""
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
        super().__init__("payments:edge:ApiLoadBalancer", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)

        self.origin_header: OriginHeader | None = None
        if args.cloudfront_origin:
            self.origin_header = create_origin_header(
                name, self._suffix, args.account_id, args.custodians, opts=self._child
            )
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
        self.log_groups = [self.waf_log_group]
        # What the ECS service needs: the target group, and a listener rule forwarding to it
        # (ECS refuses a target group no listener uses); the metrics' names of the two.
        self.target_group_arn = self.target_group.arn
        self.forwarding = [self.listener, *self.forwarding_rules]
        self.target_dimensions: dict[str, pulumi.Input[str]] = {
            "LoadBalancer": self.alb.arn_suffix,
            "TargetGroup": self.target_group.arn_suffix,
        }
        self.api_url = (
            pulumi.Output.from_input(f"https://{args.api_domain_name}")
            if args.api_domain_name
            else self.alb.dns_name.apply(lambda dns: f"https://{dns}")
        )
        self.alarms, self.dashboard_widgets = load_balancer_monitoring(
            self.alb.arn_suffix, self.target_group.arn_suffix, self.web_acl.name, self._suffix
        )
        self.register_outputs(
            {
                "alb_dns_name": self.alb_dns_name,
                "api_url": self.api_url,
                "log_bucket_name": self.log_bucket_name,
                "web_acl_arn": self.web_acl.arn,
            }
        )

    def _create_log_bucket(self, account_id: pulumi.Input[str]) -> None:
        # SSE-S3: ALB access logs support no KMS key (ELB documentation).
        self.log_bucket = private_bucket(
            f"{self._name}-logs", Names.alb_logs_bucket, self._suffix, opts=self._child
        )
        bucket = self.log_bucket.bucket
        # Versioned (Security Hub S3.14): a log file deleted or overwritten by someone with
        # write access can be brought back for a day, evidence an assessor may need.
        versioned(f"{self._name}-logs-versioning", bucket, self._child)
        lifecycle_rule(
            f"{self._name}-logs-expiry",
            bucket,
            "expire-access-logs",
            expire_after_days=ALB_LOG_DAYS,
            expire_noncurrent_after_days=1,
            abort_uploads_after_days=1,
            opts=self._child,
        )
        self.log_bucket_policy = aws.s3.BucketPolicy(
            f"{self._name}-logs-policy",
            aws.s3.BucketPolicyArgs(
                bucket=bucket,
                policy=pulumi.Output.all(
                    bucket_arn=self.log_bucket.arn, account_id=account_id
                ).apply(lambda v: alb_log_bucket_policy(**v)),
            ),
            opts=self._child,
        )

    def _create_load_balancer(self, args: ApiLoadBalancerArgs) -> None:
        self.alb = aws.lb.LoadBalancer(
            self._name,
            aws.lb.LoadBalancerArgs(
                name=physical_name(Names.alb, self._suffix),
                load_balancer_type="application",
                internal=False,
                subnets=list(args.public_subnet_ids),
                security_groups=[args.security_group_id],
                idle_timeout=IDLE_TIMEOUT_SECONDS,
                drop_invalid_header_fields=True,
                desync_mitigation_mode="strictest",
                enable_deletion_protection=False,
                access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=self.log_bucket.bucket, enabled=True
                ),
                tags=name_tag(physical_name(Names.alb, self._suffix)),
            ),
            # The ALB checks at creation that it may write to the bucket, and AWS refuses
            # an internet-facing ALB in a VPC with no internet gateway yet.
            opts=after(self._child, self.log_bucket_policy, args.internet_gateway),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{self._name}-tg",
            aws.lb.TargetGroupArgs(
                name=physical_name(Names.target_group, self._suffix),
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
                tags=name_tag(physical_name(Names.target_group, self._suffix)),
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
                tags=name_tag(physical_name(Names.alb_listener, self._suffix)),
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
                    Names.alb_rule_from_cloudfront,
                    FROM_CLOUDFRONT_PRIORITY,
                    aws.lb.ListenerRuleConditionArgs(
                        # Compared case-insensitively, with * and ? as wildcards: the value
                        # has neither (origin_header.py).
                        http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                            http_header_name=self.origin_header.name,
                            values=[self.origin_header.value],
                        )
                    ),
                    # The rotation rewrites the values (origin_header.py).
                    ignore=ROTATED_PATHS["aws:lb/listenerRule:ListenerRule"],
                )
            )
        if ingress == Ingress.INTERNET:
            self.forwarding_rules.append(
                self._forward_when(
                    "api-paths",
                    Names.alb_rule_api_paths,
                    API_PATHS_PRIORITY,
                    aws.lb.ListenerRuleConditionArgs(
                        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                            values=list(API_PATHS)
                        )
                    ),
                )
            )

    def _forward_when(
        self,
        key: str,
        name: PhysicalName,
        priority: int,
        condition: aws.lb.ListenerRuleConditionArgs,
        ignore: list[str] | None = None,
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
                tags=name_tag(physical_name(name, self._suffix)),
            ),
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(ignore_changes=ignore)
            ),
        )

    def _create_web_acl(self, args: ApiLoadBalancerArgs) -> None:
        self.web_acl, self.waf_log_group, group = create_web_acl(
            self._name,
            self._suffix,
            WebAclSpec(
                scope="REGIONAL",
                acl_name=Names.alb_web_acl,
                log_group_name=Names.alb_waf_log_group,
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
        # What the origin header's rotation rewrites at the ALB (origin_rotation.py).
        self.origin_checks: OriginChecks | None = None
        if self.origin_header is not None and group is not None:
            rule = self.forwarding_rules[0]  # from CloudFront, made first when there is a header
            self.origin_checks = OriginChecks(
                self.origin_header, rule.arn, group.name, group.id, group.arn
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
