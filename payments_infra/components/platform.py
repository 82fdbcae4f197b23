"""PaymentsPlatform: wires the tiers together, and nothing else.

Each tier is one component; this class only hands one component's output attributes to the
next one's Args, says which tier may reach which (``allow``), and gathers the tiers' log
groups, alarms and dashboard widgets for the pieces that watch them. It reads like the
architecture diagram in docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.aws.keys import LogsKey, LogsKeyArgs
from payments_infra.aws.monitoring import Watched
from payments_infra.aws.provider import EngineVersion
from payments_infra.aws.security_groups import HTTPS_PORT, Peer, allow
from payments_infra.components.account.account_controls import AccountControls, AccountControlsArgs
from payments_infra.components.account.findings import (
    findings_alarms,
    findings_rule_arns,
    findings_topic_arn,
)
from payments_infra.components.api.image import ApiImage, ApiImageArgs, ecr_repository_arn_of
from payments_infra.components.api.service import ApiService, ApiServiceArgs
from payments_infra.components.api.task_definition import CONTAINER_PORT
from payments_infra.components.database.aurora import PORT
from payments_infra.components.database.database import Database, DatabaseArgs
from payments_infra.components.database.db_rotation import (
    ROTATION_OFF_WARNING,
    DbRotation,
    DbRotationArgs,
)
from payments_infra.components.edge.certificates import Certificates, CertificatesArgs
from payments_infra.components.edge.load_balancer import ApiLoadBalancer, ApiLoadBalancerArgs
from payments_infra.components.frontend.frontend import Frontend, FrontendArgs
from payments_infra.components.frontend.site import SiteFile
from payments_infra.components.network.endpoints import VpcEndpoints, VpcEndpointsArgs
from payments_infra.components.network.network import Network, NetworkArgs
from payments_infra.components.network.security_groups import (
    SecurityGroups,
    SecurityGroupsArgs,
    alb_clients,
    allow_listed,
    to_aws_apis,
)
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

        # First: every tier encrypts its log groups with this key. It and the alerts topic let
        # the rules that send the account's findings to on-call publish (account/findings.py).
        self.logs_key = LogsKey(
            "logs-key",
            LogsKeyArgs(
                environment_suffix=suffix,
                account_id=args.account_id,
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
        rotating = config.database.rotation_days > 0
        self.security_groups = groups = SecurityGroups(
            "security-groups",
            SecurityGroupsArgs(
                environment_suffix=suffix,
                vpc_id=self.network.vpc_id,
                endpoints=config.vpc_endpoints,
                rotation=rotating,
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

        # What anything in the private subnets needs before it calls AWS: the default routes and,
        # when there are any, the endpoints.
        ways_to_aws: list[pulumi.Resource] = [
            *self.network.private_egress,
            *(self.endpoints.endpoints if self.endpoints else []),
        ]

        # Who may reach whom: one line per arrow of the diagram (docs/architecture.md), each
        # rule named {source}-to-{target}. Made before the tiers, which wait for their ways.
        clients = alb_clients(config.service.ingress, args.cloudfront_prefix_list_id)
        for client in clients:
            allow(client, groups.alb, HTTPS_PORT, "HTTPS to the ALB; port 80 stays closed")
        s3 = Peer(label="s3", prefix_list_id=self.network.s3_endpoint.prefix_list_id)
        task_paths = [
            *allow(groups.alb, groups.api_tasks, CONTAINER_PORT, "Requests to the API"),
            *allow(groups.api_tasks, groups.database, PORT, "PostgreSQL over TLS"),
            *to_aws_apis(groups.api_tasks, groups.endpoints, image_layers=s3),
        ]
        for destination, port in dict.fromkeys(config.egress_allow_list):  # one rule each
            allow(
                groups.api_tasks, allow_listed(destination, port), port, "payments:egressAllowList"
            )
        rotation_paths: list[pulumi.Resource] = []
        if groups.db_rotation is not None:
            rotation_paths += allow(groups.db_rotation, groups.database, PORT, "Password changes")
            rotation_paths += to_aws_apis(groups.db_rotation, groups.endpoints)

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
                # The name the API's certificate covers (modes 1 and 2): api_url uses it, and
                # in mode 1 an alias record points it at the ALB.
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

        # payments:apiImage, an image from outside the stack, takes the place of the stack's own
        # repository; payments:apiImageTag (a rollback) keeps the repository and runs an image
        # already in it, building nothing.
        if config.service.image:
            image: pulumi.Input[str] = config.service.image
            repository_arn: pulumi.Input[str] | None = ecr_repository_arn_of(config.service.image)
        else:
            self.image = ApiImage(
                "image",
                ApiImageArgs(
                    environment_suffix=suffix,
                    cpu_architecture=config.service.cpu_architecture,
                    keep_images=config.service.ecr_keep_images,
                    account_id=args.account_id,
                    image_tag=config.service.image_tag,
                ),
                child,
            )
            image, repository_arn = self.image.image_ref, self.image.repository_arn

        self.service = ApiService(
            "api",
            ApiServiceArgs(
                environment_suffix=suffix,
                settings=config.service,
                image=image,
                ecr_repository_arn=repository_arn,
                private_subnet_ids=self.network.private_subnet_ids,
                security_group_id=groups.api_tasks.security_group_id,
                network_paths=[
                    *task_paths,
                    *ways_to_aws,
                ],
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
                    network_paths=[
                        *rotation_paths,
                        *ways_to_aws,
                    ],
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

        # The API first, then what it depends on, the edge and the plumbing: the dashboard's
        # order.
        watched: list[Watched] = [
            self.service,
            self.load_balancer,
            self.database,
            *([self.rotation] if self.rotation else []),
            self.frontend,
            self.network,
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
                        *(self.account_controls.log_groups if self.account_controls else []),
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
