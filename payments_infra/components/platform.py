"""PaymentsPlatform: wires the tiers together, and nothing else.

Each tier is one component; this class only hands one component's output attributes to the
next one's Args, opens the paths between tiers (network_paths.py), and gathers the tiers' log
groups, alarms and dashboard widgets for the pieces that watch them. It reads like the
architecture diagram in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.aws.access import stack_custodians
from payments_infra.aws.keys import LogsKey, LogsKeyArgs
from payments_infra.aws.monitoring import Watched
from payments_infra.aws.provider import EngineVersion
from payments_infra.components.account.account_controls import AccountControls, AccountControlsArgs
from payments_infra.components.account.findings import (
    findings_alarms,
    findings_rule_arns,
    findings_topic_arn,
)
from payments_infra.components.api.image import api_image
from payments_infra.components.api.service import ApiService, ApiServiceArgs
from payments_infra.components.database.database import Database, DatabaseArgs
from payments_infra.components.database.db_rotation import (
    ROTATION_OFF_WARNING,
    DbRotation,
    DbRotationArgs,
)
from payments_infra.components.edge.certificates import Certificates, CertificatesArgs
from payments_infra.components.edge.load_balancer import ApiLoadBalancer, ApiLoadBalancerArgs
from payments_infra.components.edge.origin_rotation import OriginRotation, OriginRotationArgs
from payments_infra.components.frontend.frontend import Frontend, FrontendArgs
from payments_infra.components.frontend.site import SiteFile
from payments_infra.components.network.dns_firewall import DnsFirewall, DnsFirewallArgs
from payments_infra.components.network.endpoints import VpcEndpoints, VpcEndpointsArgs
from payments_infra.components.network.network import Network, NetworkArgs
from payments_infra.components.network.security_groups import SecurityGroups, SecurityGroupsArgs
from payments_infra.components.network_paths import open_network_paths
from payments_infra.components.observability.alb_access_logs import AlbAccessLogs, AlbAccessLogsArgs
from payments_infra.components.observability.log_archive import LogArchive, LogArchiveArgs
from payments_infra.components.observability.observability import Observability, ObservabilityArgs
from payments_infra.config import StackConfig


@dataclass(frozen=True, kw_only=True)
class PaymentsPlatformArgs:
    """Inputs of the whole platform."""

    config: StackConfig
    """The validated stack settings. Required."""
    availability_zones: list[str]
    """The three zones to build in, by name (provider.resolve_zones). Required."""
    availability_zone_ids: list[str]
    """Their zone IDs, in the same order: the same physical zones in every account, which is
    what AWS's health notices and capacity answers name. Required."""
    account_id: pulumi.Input[str]
    """The AWS account the stack deploys into. Required."""
    caller_arn: pulumi.Input[str]
    """Who runs ``pulumi up``, as a role's ARN when a session of one (a custodian). Required."""
    db_engine: EngineVersion
    """The exact Aurora version (provider.resolve_engine_version). Required."""
    site_files: list[SiteFile]
    """The built web app (site.load_site). Required."""
    cloudfront_prefix_list_id: str | None = None
    """CloudFront's origin-facing prefix list, when the ALB admits CloudFront only."""


class PaymentsPlatform(pulumi.ComponentResource):
    """The payments platform: network, database, API, frontend and observability."""

    def __init__(
        self, name: str, args: PaymentsPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:PaymentsPlatform", name, None, opts)
        config = args.config
        suffix = config.environment_suffix
        child = pulumi.ResourceOptions(parent=self)
        self.availability_zone_ids = args.availability_zone_ids
        # The settings it was built with: the creation_settings output records some of them.
        self.config = config

        # Before every key and secret: who administers the keys and may open every secret.
        custodians = stack_custodians(
            "break-glass", config, args.account_id, args.caller_arn, child
        )
        # Every tier's log groups' key; EventBridge may publish the findings with it (findings.py).
        self.logs_key = LogsKey(
            "logs-key",
            LogsKeyArgs(
                environment_suffix=suffix,
                account_id=args.account_id,
                custodians=custodians,
                event_rules_topic_arn=findings_topic_arn(args.account_id, config),
            ),
            child,
        )
        log_key = self.logs_key.key_arn

        self.network = Network(
            "network",
            NetworkArgs(
                environment_suffix=suffix,
                vpc_cidr=config.vpc_cidr,
                availability_zones=args.availability_zones,
                availability_zone_ids=args.availability_zone_ids,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
            ),
            child,
        )
        # The VPC's resolver answers only the names the stack needs, and logs every query.
        self.dns_firewall = DnsFirewall(
            "dns-firewall",
            DnsFirewallArgs(
                environment_suffix=suffix,
                vpc_id=self.network.vpc_id,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
                extra_domains=config.dns_allow_list,
            ),
            child,
        )
        self.security_groups = groups = SecurityGroups(
            "security-groups",
            SecurityGroupsArgs(
                environment_suffix=suffix,
                vpc_id=self.network.vpc_id,
                endpoints=config.vpc_endpoints,
                rotation=config.database.rotation_days > 0,
            ),
            child,
        )
        # AWS's APIs inside the VPC, so the tasks need no way to the whole Internet.
        self.endpoints: VpcEndpoints | None = None
        if groups.endpoints:
            self.endpoints = VpcEndpoints(
                "endpoints",
                VpcEndpointsArgs(
                    environment_suffix=suffix,
                    vpc_id=self.network.vpc_id,
                    private_subnet_ids=self.network.private_subnet_ids,
                    security_group_ids=groups.endpoint_group_ids,
                    s3_endpoint=self.network.s3_endpoint,
                    account_id=args.account_id,
                ),
                child,
            )

        # What the private subnets need before they call AWS: the default routes, the endpoints.
        ways_to_aws: list[pulumi.Resource] = [
            *self.network.private_egress,
            *(self.endpoints.endpoints if self.endpoints else []),
        ]

        # Who may reach whom: every arrow of the diagram, before the tiers that use them.
        paths = open_network_paths(
            groups,
            config,
            s3_prefix_list_id=self.network.s3_endpoint.prefix_list_id,
            cloudfront_prefix_list_id=args.cloudfront_prefix_list_id,
        )

        self.database = Database(
            "database",
            DatabaseArgs(
                environment_suffix=suffix,
                settings=config.database,
                engine=args.db_engine,
                security_group_id=groups.database.security_group_id,
                private_subnet_ids=self.network.private_subnet_ids,
                availability_zones=self.network.availability_zones,
                account_id=args.account_id,
                custodians=custodians,
                log_kms_key_arn=log_key,
            ),
            child,
        )

        self.certificates = Certificates(
            "certificates",
            CertificatesArgs(environment_suffix=suffix, settings=config.certificates),
            child,
        )

        self.load_balancer = ApiLoadBalancer(
            "alb",
            ApiLoadBalancerArgs(
                environment_suffix=suffix,
                settings=config.service,
                vpc_id=self.network.vpc_id,
                security_group_id=groups.alb.security_group_id,
                public_subnet_ids=self.network.public_subnet_ids,
                internet_gateway=self.network.internet_gateway,
                certificate_arn=self.certificates.api_certificate_arn,
                account_id=args.account_id,
                custodians=custodians,
                # The name the API's certificate covers (modes 1, 2): api_url, mode 1's alias.
                api_domain_name=self.certificates.api_domain_name,
                hosted_zone_id=self.certificates.hosted_zone_id,
                # CloudFront routes /api to the ALB by the name its certificate covers: the ALB
                # then makes the header CloudFront proves itself with (handed on below).
                cloudfront_origin=self.certificates.api_domain_name is not None,
                waf_rate_limit=config.frontend.waf_rate_limit,
                log_kms_key_arn=log_key,
            ),
            child,
        )

        image, repository_arn = api_image(
            config.service, suffix, args.account_id, custodians, child
        )

        self.service = ApiService(
            "api",
            ApiServiceArgs(
                environment_suffix=suffix,
                settings=config.service,
                image=image,
                ecr_repository_arn=repository_arn,
                private_subnet_ids=self.network.private_subnet_ids,
                security_group_id=groups.api_tasks.security_group_id,
                network_paths=[*paths.api_tasks, *ways_to_aws],
                target_group_arn=self.load_balancer.target_group_arn,
                forwarding=self.load_balancer.forwarding,
                target_dimensions=self.load_balancer.target_dimensions,
                # The API tier reaches the database (its tasks, the migrations it runs before
                # them, the key CLI), each task with the login of its job.
                database_ready=[self.database.writer],
                database_secrets=self.database.secrets,
                db_kms_key_arn=self.database.kms_key_arn,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
            ),
            child,
        )

        # The passwords rotate once the migrations have made the logins' users: a login's
        # first rotation gives its second user a password.
        self.rotation: DbRotation | None = None
        if groups.db_rotation is not None:
            self.rotation = DbRotation(
                "db-rotation",
                DbRotationArgs(
                    environment_suffix=suffix,
                    rotation_days=config.database.rotation_days,
                    security_group_id=groups.db_rotation.security_group_id,
                    network_paths=[*paths.db_rotation, *ways_to_aws],
                    private_subnet_ids=self.network.private_subnet_ids,
                    locked_security_group_id=self.network.default_security_group.id,
                    account_id=args.account_id,
                    key_arn=self.database.kms_key_arn,
                    log_kms_key_arn=log_key,
                    master_secret=self.database.secrets.master.secret,
                    login_secrets=[
                        self.database.secrets.app.secret,
                        self.database.secrets.keys.secret,
                    ],
                    wait_for=[
                        *self.database.secrets.values,
                        self.database.writer,
                        self.service.migrations_run.invocation,
                    ],
                ),
                child,
            )
        else:
            pulumi.log.warn(ROTATION_OFF_WARNING, resource=self)

        certificate_settings = config.certificates
        self.frontend = Frontend(
            "frontend",
            FrontendArgs(
                environment_suffix=suffix,
                settings=config.frontend,
                site_files=args.site_files,
                log_kms_key_arn=log_key,
                domain_name=certificate_settings.domain_name
                or certificate_settings.site_domain_name,
                certificate_arn=self.certificates.cloudfront_certificate_arn,
                hosted_zone_id=certificate_settings.hosted_zone_id,
                # Only a name the ALB's certificate covers: CloudFront verifies it.
                api_origin_domain=self.certificates.api_domain_name,
                origin_header=self.load_balancer.origin_header,
            ),
            child,
        )

        # The origin header rotates wherever CloudFront sends it: the secret, the ALB's rule and
        # WAF rule group, and CloudFront follow (functions/origin_header_rotation).
        self.origin_rotation: OriginRotation | None = None
        if (checks := self.load_balancer.origin_checks) is not None:
            self.origin_rotation = OriginRotation(
                "origin-rotation",
                OriginRotationArgs(
                    environment_suffix=suffix,
                    rotation_days=config.frontend.origin_header_rotation_days,
                    checks=checks,
                    distribution_id=self.frontend.distribution_id,
                    distribution_arn=self.frontend.distribution_arn,
                    account_id=args.account_id,
                    log_kms_key_arn=log_key,
                ),
                child,
            )

        self.alb_access_logs = AlbAccessLogs(
            "alb-access-logs",
            AlbAccessLogsArgs(
                environment_suffix=suffix,
                delivery=config.observability.alb_log_delivery,
                alb_arn=self.load_balancer.alb_arn,
                log_bucket_name=self.load_balancer.log_bucket_name,
                log_bucket_arn=self.load_balancer.log_bucket_arn,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
            ),
            child,
        )

        # The dashboard's order: the API, then what it depends on, the edge, the plumbing.
        watched: list[Watched] = [
            self.service,
            self.load_balancer,
            self.database,
            *([self.rotation] if self.rotation else []),
            self.frontend,
            *([self.origin_rotation] if self.origin_rotation else []),
            self.network,
            self.dns_firewall,
            self.alb_access_logs,
        ]
        self.observability = Observability(
            "observability",
            ObservabilityArgs(
                environment_suffix=suffix,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
                alert_emails=config.observability.alert_emails,
                # And the findings rules' (by name: AccountControls comes after the topic).
                alarms=[*(a for tier in watched for a in tier.alarms), *findings_alarms(config)],
                dashboard_widgets=[widget for tier in watched for widget in tier.dashboard_widgets],
                publishing_rule_arns=findings_rule_arns(args.account_id, config),
            ),
            child,
        )

        # The account's own controls (CloudTrail, GuardDuty, Security Hub, Config): opt-in,
        # as an organisation often runs them already (preflight refuses a second set).
        self.account_controls: AccountControls | None = None
        if config.account_controls:
            self.account_controls = AccountControls(
                "account",
                AccountControlsArgs(
                    environment_suffix=suffix,
                    account_id=args.account_id,
                    custodians=custodians,
                    log_kms_key_arn=log_key,
                    alerts_topic_arn=self.observability.topic_arn,
                    findings_min_severity=config.findings_min_severity,
                ),
                child,
            )

        if config.observability.log_archive == "s3":
            # In this order for good: each group's subscription filter is named by its place.
            self.log_archive = LogArchive(
                "log-archive",
                LogArchiveArgs(
                    environment_suffix=suffix,
                    account_id=args.account_id,
                    log_groups=[
                        *self.network.log_groups,
                        *self.database.log_groups,
                        *(self.rotation.log_groups if self.rotation else []),
                        *self.load_balancer.log_groups,
                        *self.service.log_groups,
                        *self.frontend.log_groups,
                        *self.alb_access_logs.log_groups,
                        *self.dns_firewall.log_groups,
                        *(self.account_controls.log_groups if self.account_controls else []),
                        # Last: a group added before another renames that one's filter.
                        *(self.origin_rotation.log_groups if self.origin_rotation else []),
                    ],
                ),
                child,
            )

        self.register_outputs(
            {
                "vpc_id": self.network.vpc_id,
                "db_app_secret_arn": self.database.secrets.app.arn,
                "api_url": self.load_balancer.api_url,
                "site_url": self.frontend.site_url,
            }
        )
