"""Frontend component: the React app in a private S3 bucket behind CloudFront and WAF.

Creates:
- the bucket ``frontend-{suffix}``: all public access blocked, bucket-owner-enforced
  ownership, SSE-S3, versioning with noncurrent versions expiring after 30 days, a policy that
  lets only this distribution read (through Origin Access Control) and denies plain HTTP,
  emptied on destroy;
- the built app's files as objects, each with its Content-Type, ``no-cache`` on
  ``index.html`` and a year of immutable caching on the hashed assets;
- a CloudFront distribution: OAC (sigv4, always), ``index.html`` as root object, SPA routing by
  a CloudFront Function on the default behaviour only (so API errors stay API errors),
  HTTPS only (redirect), TLS 1.2 (2021 policy) with a custom certificate, HTTP/2 and HTTP/3,
  compression, AWS's managed cache policies, security headers (payments_infra/web_headers.py);
  ``/api/*`` to the ALB over verified HTTPS, uncached, only when a certificate name covers
  the ALB (certificate modes 1 and 2);
- a WAF web ACL (CLOUDFRONT scope) with AWS's managed rule groups (common, known bad
  inputs, IP reputation, SQL injection) and a per-IP rate limit, logging to
  ``aws-waf-logs-{suffix}`` (30 days) -- PCI DSS 6.4.2;
- CloudFront access logs delivered to CloudWatch Logs (``/aws/cloudfront/frontend-{suffix}``,
  30 days) through CloudWatch log delivery;
- in certificate mode 1, the Route 53 alias ``<domain>`` for the distribution.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from payments_infra.buckets import private_bucket
from payments_infra.config import FrontendSettings
from payments_infra.errors import ConfigError
from payments_infra.logs import deliver_to_log_group, log_group
from payments_infra.naming import physical_name
from payments_infra.policies import deny_insecure_transport, policy_document
from payments_infra.recording import REPO_ROOT
from payments_infra.tagging import name_tag
from payments_infra.web_headers import CONTENT_SECURITY_POLICY

# AWS managed policies (CloudFront developer guide, "Use managed cache policies" and
# "Use managed origin request policies"): fixed ids, the same in every account.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# CloudFront's hosted zone for alias records (the same for every distribution).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=3600"
NONCURRENT_VERSION_DAYS = 30
# Rewrites app routes (no file extension) to the single page; files and /api are untouched.
SPA_REWRITE_FUNCTION = """\
function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
)


@dataclass(frozen=True)
class SiteFile:
    """One file of the built app and how it is served."""

    path: Path
    key: str
    content_type: str
    cache_control: str


def load_site(dist_dir: str) -> list[SiteFile]:
    """The built app's files, or a ConfigError that says how to build it.

    Read before any resource exists, so a missing build never deploys an empty site.
    """
    root = Path(dist_dir) if Path(dist_dir).is_absolute() else REPO_ROOT / dist_dir
    if not (root / "index.html").is_file():
        raise ConfigError(
            [
                f"payments:webDistDir must point at the built web app (with index.html); "
                f'got "{dist_dir}", which has none. Build it: make web '
                "(or: cd app/web && npm ci && npm run build)"
            ]
        )
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = path.relative_to(root).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in (
            "application/javascript",
            "application/json",
            "image/svg+xml",
        ):
            content_type += "; charset=utf-8"
        if key == "index.html":
            cache_control = NO_CACHE  # always revalidated: it names the current assets
        elif key.startswith("assets/"):
            cache_control = IMMUTABLE  # Vite puts a content hash in every asset's name
        else:
            cache_control = SHORT_CACHE
        files.append(SiteFile(path, key, content_type, cache_control))
    return files


@dataclass(frozen=True, kw_only=True)
class FrontendArgs:
    """Inputs of the Frontend component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: FrontendSettings
    """Price class and WAF rate limit (StackConfig.frontend). Required."""
    site_files: list[SiteFile]
    """The built app (load_site). Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key every log group of the tier is encrypted with (observability.py). Required."""
    domain_name: str | None = None
    """The site's own name (certificate modes 1 and 2 with a CloudFront certificate)."""
    certificate_arn: pulumi.Input[str] | None = None
    """CloudFront's certificate for domain_name. Default: CloudFront's own certificate."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone for the alias record. Default: None."""
    api_origin_domain: str | None = None
    """A name that reaches the ALB and that its certificate covers; None: no /api."""


class Frontend(pulumi.ComponentResource):
    """The web app: private bucket, CloudFront with OAC and security headers, WAF, logs."""

    def __init__(
        self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:frontend:Frontend", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)

        self._create_bucket()
        self._create_web_acl(args.settings.waf_rate_limit)
        self._create_distribution(args)
        self._create_bucket_policy()
        self._upload(args.site_files)
        self._create_access_logs()
        if args.hosted_zone_id and args.domain_name:
            self._create_alias_record(args.domain_name, args.hosted_zone_id)

        self.bucket_name = self.bucket.bucket
        self.distribution_id = self.distribution.id
        self.web_acl_name = self.web_acl.name
        self.log_groups = [self._waf_logs, self._cdn_logs]
        self.site_url = (
            pulumi.Output.from_input(f"https://{args.domain_name}")
            if args.domain_name
            else self.distribution.domain_name.apply(lambda dns: f"https://{dns}")
        )
        self.register_outputs(
            {
                "site_url": self.site_url,
                "distribution_id": self.distribution_id,
                "bucket_name": self.bucket_name,
            }
        )

    def _create_bucket(self) -> None:
        # SSE-S3: the bucket holds the public web app, no cardholder data; a KMS key would add
        # a key policy for CloudFront and a KMS call per uncached request for no protection
        # the content needs (docs/architecture.md, "Frontend tier").
        self.bucket = private_bucket(
            f"{self._name}-bucket", "frontend_bucket", self._suffix, parent=self
        )
        bucket = self.bucket.bucket
        aws.s3.BucketVersioning(
            f"{self._name}-bucket-versioning",
            aws.s3.BucketVersioningInitArgs(
                bucket=bucket,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                    status="Enabled"
                ),
            ),
            opts=self._child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{self._name}-bucket-lifecycle",
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=bucket,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-old-versions",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=NONCURRENT_VERSION_DAYS
                        ),
                    )
                ],
            ),
            opts=self._child,
        )

    def _create_web_acl(self, rate_limit: int) -> None:
        def visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
            return aws.wafv2.WebAclRuleVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        rules = [
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=index,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        name=group, vendor_name="AWS"
                    )
                ),
                visibility_config=visibility(group),
            )
            for index, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            aws.wafv2.WebAclRuleArgs(
                name="RateLimitPerIp",
                priority=len(MANAGED_RULE_GROUPS),
                action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                    )
                ),
                visibility_config=visibility("RateLimitPerIp"),
            )
        )
        name = physical_name("web_acl", self._suffix)
        self.web_acl = aws.wafv2.WebAcl(
            f"{self._name}-waf",
            aws.wafv2.WebAclArgs(
                name=name,
                description="Public web app and API through CloudFront (PCI DSS 6.4.2)",
                scope="CLOUDFRONT",
                default_action=aws.wafv2.WebAclDefaultActionArgs(
                    allow=aws.wafv2.WebAclDefaultActionAllowArgs()
                ),
                rules=rules,
                visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True,
                    metric_name=name,
                    sampled_requests_enabled=True,
                ),
                tags=name_tag(name),
            ),
            opts=self._child,
        )
        # WAF logs only to groups whose name starts with "aws-waf-logs-".
        self._waf_logs = waf_logs = log_group(
            f"{self._name}-waf-logs",
            "waf_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            parent=self,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{self._name}-waf-logging",
            aws.wafv2.WebAclLoggingConfigurationArgs(
                resource_arn=self.web_acl.arn, log_destination_configs=[waf_logs.arn]
            ),
            opts=self._child,
        )

    def _create_distribution(self, args: FrontendArgs) -> None:
        access_control = aws.cloudfront.OriginAccessControl(
            f"{self._name}-oac",
            aws.cloudfront.OriginAccessControlArgs(
                name=physical_name("origin_access_control", self._suffix),
                description="CloudFront signs every request to the frontend bucket",
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
            ),
            opts=self._child,
        )
        self.spa_function = aws.cloudfront.Function(
            f"{self._name}-spa-rewrite",
            aws.cloudfront.FunctionArgs(
                name=physical_name("spa_function", self._suffix),
                runtime="cloudfront-js-2.0",
                comment="App routes without a file extension get index.html",
                code=SPA_REWRITE_FUNCTION,
                publish=True,
                tags=name_tag(physical_name("spa_function", self._suffix)),
            ),
            opts=self._child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{self._name}-security-headers",
            aws.cloudfront.ResponseHeadersPolicyArgs(
                name=physical_name("response_headers_policy", self._suffix),
                comment="HSTS, CSP, nosniff, DENY framing, strict referrer",
                security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                    strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                        access_control_max_age_sec=31536000,
                        include_subdomains=True,
                        override=True,
                    ),
                    content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                        content_security_policy=CONTENT_SECURITY_POLICY, override=True
                    ),
                    content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                        override=True
                    ),
                    frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                        frame_option="DENY", override=True
                    ),
                    referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                        referrer_policy="strict-origin-when-cross-origin", override=True
                    ),
                ),
            ),
            opts=self._child,
        )
        origins = [
            aws.cloudfront.DistributionOriginArgs(
                origin_id="web",
                domain_name=self.bucket.bucket_regional_domain_name,
                origin_access_control_id=access_control.id,
            )
        ]
        ordered_behaviors = []
        if args.api_origin_domain:
            origins.append(
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="api",
                    domain_name=args.api_origin_domain,
                    custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                        http_port=80,  # required by the API, never used: https-only
                        https_port=443,
                        origin_protocol_policy="https-only",
                        origin_ssl_protocols=["TLSv1.2"],
                    ),
                )
            )
            ordered_behaviors.append(
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern="/api/*",
                    target_origin_id="api",
                    viewer_protocol_policy="https-only",  # a redirected POST loses its body
                    allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=CACHING_DISABLED,
                    # Every viewer header, cookie and query string but Host, so the ALB's
                    # certificate name is what CloudFront asks for.
                    origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy_id=headers.id,
                    compress=True,
                )
            )
        custom_certificate = bool(args.domain_name and args.certificate_arn)
        self.distribution = aws.cloudfront.Distribution(
            f"{self._name}-cdn",
            aws.cloudfront.DistributionArgs(
                enabled=True,
                comment=f"payments web app ({self._suffix})",
                is_ipv6_enabled=True,
                http_version="http2and3",
                price_class=args.settings.price_class,
                default_root_object="index.html",
                aliases=[args.domain_name] if custom_certificate and args.domain_name else None,
                web_acl_id=self.web_acl.arn,
                origins=origins,
                default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                    target_origin_id="web",
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=["GET", "HEAD", "OPTIONS"],
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=CACHING_OPTIMIZED,
                    response_headers_policy_id=headers.id,
                    compress=True,
                    function_associations=[
                        aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                            event_type="viewer-request", function_arn=self.spa_function.arn
                        )
                    ],
                ),
                ordered_cache_behaviors=ordered_behaviors,
                restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                    geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                        restriction_type="none"
                    )
                ),
                viewer_certificate=(
                    aws.cloudfront.DistributionViewerCertificateArgs(
                        acm_certificate_arn=args.certificate_arn,
                        ssl_support_method="sni-only",
                        minimum_protocol_version="TLSv1.2_2021",
                    )
                    if custom_certificate
                    else aws.cloudfront.DistributionViewerCertificateArgs(
                        cloudfront_default_certificate=True
                    )
                ),
                tags=name_tag(physical_name("distribution", self._suffix)),
            ),
            opts=self._child,
        )

    def _create_bucket_policy(self) -> None:
        aws.s3.BucketPolicy(
            f"{self._name}-bucket-policy",
            aws.s3.BucketPolicyArgs(
                bucket=self.bucket.bucket,
                policy=pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
                    lambda values: frontend_bucket_policy(*values)
                ),
            ),
            opts=self._child,
        )

    def _upload(self, site_files: list[SiteFile]) -> None:
        for site_file in site_files:
            aws.s3.BucketObjectv2(
                f"{self._name}-file-{site_file.key}",
                aws.s3.BucketObjectv2Args(
                    bucket=self.bucket.bucket,
                    key=site_file.key,
                    source=pulumi.FileAsset(str(site_file.path)),
                    content_type=site_file.content_type,
                    cache_control=site_file.cache_control,
                    tags=name_tag(physical_name("frontend_object", self._suffix)),
                ),
                opts=self._child,
            )

    def _create_access_logs(self) -> None:
        self._cdn_logs = cdn_logs = log_group(
            f"{self._name}-cdn-logs",
            "cloudfront_log_group",
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            parent=self,
        )
        deliver_to_log_group(
            f"{self._name}-cdn-log",
            log_type="ACCESS_LOGS",
            source_arn=self.distribution.arn,
            log_group_arn=cdn_logs.arn,
            names=(
                "cloudfront_log_source",
                "cloudfront_log_destination",
                "cloudfront_log_delivery",
            ),
            suffix=self._suffix,
            parent=self,
        )

    def _create_alias_record(self, domain_name: str, hosted_zone_id: str) -> None:
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{self._name}-alias-{record_type.lower()}",
                aws.route53.RecordArgs(
                    zone_id=hosted_zone_id,
                    name=domain_name,
                    type=record_type,
                    aliases=[
                        aws.route53.RecordAliasArgs(
                            name=self.distribution.domain_name,
                            zone_id=CLOUDFRONT_ZONE_ID,
                            evaluate_target_health=False,
                        )
                    ],
                ),
                opts=self._child,
            )


def frontend_bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """Only this distribution may read (through OAC); plain HTTP is refused."""
    return policy_document(
        {
            "Sid": "ReadThroughThisDistributionOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/*"],
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
        },
        deny_insecure_transport(bucket_arn),
    )
