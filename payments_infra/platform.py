"""PaymentsPlatform: wires the tiers together, and nothing else.

Each tier is one component; this class only hands one component's output attributes to the
next one's Args, so it reads like the architecture diagram in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.certificates import Certificates, CertificatesArgs
from payments_infra.config import StackConfig
from payments_infra.database import Database, DatabaseArgs
from payments_infra.frontend import Frontend, FrontendArgs, SiteFile
from payments_infra.image import ApiImage, ApiImageArgs
from payments_infra.network import Network, NetworkArgs
from payments_infra.observability import LogsKey, LogsKeyArgs, Observability, ObservabilityArgs
from payments_infra.provider import EngineVersion
from payments_infra.service import ApiService, ApiServiceArgs, ecr_repository_arn_of


@dataclass(frozen=True, kw_only=True)
class PaymentsPlatformArgs:
    """Inputs of the whole platform."""

    config: StackConfig
    """The validated stack settings. Required."""
    availability_zones: list[str]
    """The three zones to build in (provider.resolve_availability_zones). Required."""
    account_id: pulumi.Input[str]
    """The AWS account the stack deploys into. Required."""
    db_engine: EngineVersion
    """The exact Aurora version (provider.resolve_engine_version). Required."""
    site_files: list[SiteFile]
    """The built web app (frontend.load_site). Required."""
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

        # First: every tier encrypts its log groups with this key.
        self.logs_key = LogsKey(
            "logs-key",
            LogsKeyArgs(environment_suffix=suffix, account_id=args.account_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        log_key = self.logs_key.key_arn

        self.network = Network(
            "network",
            NetworkArgs(
                environment_suffix=config.environment_suffix,
                vpc_cidr=config.vpc_cidr,
                availability_zones=args.availability_zones,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.database = Database(
            "database",
            DatabaseArgs(
                environment_suffix=config.environment_suffix,
                settings=config.database,
                engine=args.db_engine,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                availability_zones=self.network.availability_zones,
                client_security_group_id=self.network.task_security_group_id,
                account_id=args.account_id,
                log_kms_key_arn=log_key,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.certificates = Certificates(
            "certificates",
            CertificatesArgs(
                environment_suffix=config.environment_suffix, settings=config.certificates
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        if config.service.image:
            image: pulumi.Input[str] = config.service.image
            repository_arn: pulumi.Input[str] | None = ecr_repository_arn_of(config.service.image)
        else:
            self.image = ApiImage(
                "image",
                ApiImageArgs(
                    environment_suffix=config.environment_suffix,
                    cpu_architecture=config.service.cpu_architecture,
                    keep_images=config.service.ecr_keep_images,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            image, repository_arn = self.image.image_ref, self.image.repository_arn

        self.service = ApiService(
            "api",
            ApiServiceArgs(
                environment_suffix=config.environment_suffix,
                settings=config.service,
                image=image,
                ecr_repository_arn=repository_arn,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                private_subnet_ids=self.network.private_subnet_ids,
                task_security_group_id=self.network.task_security_group_id,
                internet_gateway=self.network.internet_gateway,
                private_egress=self.network.private_egress,
                db_secret_value=self.database.secret_version,
                database_security_group_id=self.database.security_group_id,
                certificate_arn=self.certificates.api_certificate_arn,
                db_secret_arn=self.database.secret_arn,
                db_secret_keys=self.database.secret_keys,
                db_kms_key_arn=self.database.kms_key_arn,
                account_id=args.account_id,
                # The name the API's certificate covers (modes 1 and 2): api_url uses it, and
                # in mode 1 an alias record points it at the ALB.
                api_domain_name=self.certificates.api_domain_name,
                hosted_zone_id=self.certificates.hosted_zone_id,
                cloudfront_prefix_list_id=args.cloudfront_prefix_list_id,
                log_kms_key_arn=log_key,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        certificate_settings = config.certificates
        self.frontend = Frontend(
            "frontend",
            FrontendArgs(
                environment_suffix=config.environment_suffix,
                settings=config.frontend,
                site_files=args.site_files,
                log_kms_key_arn=log_key,
                domain_name=certificate_settings.domain_name
                or certificate_settings.site_domain_name,
                certificate_arn=self.certificates.cloudfront_certificate_arn,
                hosted_zone_id=certificate_settings.hosted_zone_id,
                # Only a name the ALB's certificate covers: CloudFront verifies it.
                api_origin_domain=self.certificates.api_domain_name,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Last: it watches everything above.
        self.observability = Observability(
            "observability",
            ObservabilityArgs(
                environment_suffix=suffix,
                log_kms_key_arn=log_key,
                alert_emails=config.observability.alert_emails,
                alb_log_delivery=config.observability.alb_log_delivery,
                account_id=args.account_id,
                availability_zones=args.availability_zones,
                alb_arn=self.service.alb_arn,
                alb_arn_suffix=self.service.alb_arn_suffix,
                target_group_arn_suffix=self.service.target_group_arn_suffix,
                alb_logs_bucket=self.service.log_bucket_name,
                alb_logs_bucket_arn=self.service.log_bucket_arn,
                ecs_cluster_name=self.service.cluster_name,
                ecs_service_name=self.service.service_name,
                db_cluster_identifier=self.database.cluster_identifier,
                db_reader_identifier=self.database.reader_identifier,
                nat_gateway_ids=self.network.nat_gateway_ids,
                web_acl_name=self.frontend.web_acl_name,
                distribution_id=self.frontend.distribution_id,
                log_archive=config.observability.log_archive,
                archived_log_groups=[
                    *self.network.log_groups,
                    *self.database.log_groups,
                    *self.service.log_groups,
                    *self.frontend.log_groups,
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs(
            {
                "vpc_id": self.network.vpc_id,
                "db_secret_arn": self.database.secret_arn,
                "api_url": self.service.api_url,
                "site_url": self.frontend.site_url,
            }
        )
