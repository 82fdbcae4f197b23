"""Frontend component: the React app in a private S3 bucket behind CloudFront and its WAF.

The site bucket (site.py), the distribution (Origin Access Control, SPA routing by a CloudFront
Function, security headers from web_headers.py, ``/api/*`` to the ALB with the origin header
only when a certificate name covers the ALB), its web ACL (web_acl.py), its access logs in
CloudWatch Logs, and in certificate mode 1 the alias ``<domain>``. docs/architecture.md
(Frontend) describes the tier; each decision is commented where it is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.logs import deliver_to_log_group, log_group
from payments_infra.aws.monitoring import DashboardWidget
from payments_infra.aws.security_groups import HTTPS_PORT
from payments_infra.aws.tagging import name_tag
from payments_infra.components.edge.origin_header import OriginHeader, rotated
from payments_infra.components.edge.web_acl import WebAclSpec, create_web_acl, waf_monitoring
from payments_infra.components.frontend.site import SiteFile, allow_reads_from, create_site_bucket
from payments_infra.components.frontend.web_headers import (
    CONTENT_SECURITY_POLICY,
    HSTS_MAX_AGE_SECONDS,
)
from payments_infra.config import FrontendSettings
from payments_infra.config.naming import Names, physical_name

# AWS managed policies (CloudFront developer guide, "Use managed cache policies" and
# "Use managed origin request policies"): fixed ids, the same in every account.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
# CloudFront's hosted zone for alias records (the same for every distribution).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
# CloudFront is global and publishes its metrics in us-east-1, whatever the stack's region.
CLOUDFRONT_METRICS_REGION = "us-east-1"
# What the CloudFront Function answers for /api and /api/... on the default behaviour. With an
# /api/* behaviour (certificate modes 1 and 2) only the bare /api gets here, and is not an API
# path: FastAPI's own 404. Without one (mode 3) every API call of the web app gets here, and the
# answer says why, with a code the web app recognises (app/web/src/api.ts, API_NOT_ROUTED_CODE).
API_NOT_FOUND_BODY = {"detail": "Not Found"}
API_NOT_ROUTED_CODE = "api_not_routed"
API_NOT_ROUTED_BODY = {
    "detail": (
        "This deployment does not route /api through CloudFront (certificate mode 3, "
        "self-signed: a demo), so the web app cannot reach the API; it answers only at the "
        "ALB's own address (curl, or the live tests). For a working web app, deploy with "
        "certificate mode 1 or 2."
    ),
    "code": API_NOT_ROUTED_CODE,
}
# Runs on the default behaviour (viewer request). Never turns /api or /api/... into the page:
# answers them itself (404, JSON, no-store); rewrites app routes (no file extension) to the
# single page, and leaves files alone. ES 5.1 only, which both CloudFront runtimes accept.
_SPA_FUNCTION_TEMPLATE = """\
var API_BODY = __API_BODY__;
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/api' || uri.indexOf('/api/') === 0) {
    return {
      statusCode: 404,
      statusDescription: 'Not Found',
      headers: {
        'content-type': { value: 'application/json' },
        'cache-control': { value: 'no-store' },
        'x-content-type-options': { value: 'nosniff' }
      },
      body: { encoding: 'text', data: API_BODY }
    };
  }
  var last = uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""


def spa_function_code(*, api_routed: bool) -> str:
    """The default behaviour's viewer-request function. ``api_routed``: the distribution has an
    /api/* behaviour (certificate modes 1 and 2)."""
    body = json.dumps(API_NOT_FOUND_BODY if api_routed else API_NOT_ROUTED_BODY)
    # A JSON string literal is a JavaScript string literal (the text has no U+2028 or U+2029).
    return _SPA_FUNCTION_TEMPLATE.replace("__API_BODY__", json.dumps(body))


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
    """The key every log group of the tier is encrypted with (keys.LogsKey). Required."""
    domain_name: str | None = None
    """The site's own name (certificate modes 1 and 2 with a CloudFront certificate)."""
    certificate_arn: pulumi.Input[str] | None = None
    """CloudFront's certificate for domain_name. Default: CloudFront's own certificate."""
    hosted_zone_id: str | None = None
    """Mode 1: the zone for the alias record. Default: None."""
    api_origin_domain: str | None = None
    """A name that reaches the ALB and that its certificate covers; None: no /api."""
    origin_header: OriginHeader | None = None
    """The secret header the ALB requires of CloudFront; required with api_origin_domain."""


class Frontend(pulumi.ComponentResource):
    """The web app: private bucket, CloudFront with OAC and security headers, WAF, logs."""

    def __init__(
        self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if args.api_origin_domain and args.origin_header is None:
            raise ValueError(
                "FrontendArgs.origin_header must be set with api_origin_domain: the ALB "
                "answers 403 to /api requests without it"
            )
        super().__init__("payments:frontend:Frontend", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._log_kms_key_arn = args.log_kms_key_arn
        self._child = pulumi.ResourceOptions(parent=self)

        self.bucket = create_site_bucket(name, self._suffix, args.site_files, opts=self._child)
        self.web_acl, waf_logs, _ = create_web_acl(
            name,
            self._suffix,
            WebAclSpec(
                scope="CLOUDFRONT",
                acl_name=Names.web_acl,
                log_group_name=Names.waf_log_group,
                description="Public web app and API through CloudFront, PCI DSS 6.4.2",
                rate_limit=args.settings.waf_rate_limit,
            ),
            log_kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        self._create_distribution(args)
        allow_reads_from(name, self.bucket, self.distribution.arn, opts=self._child)
        self._create_access_logs()
        if args.hosted_zone_id and args.domain_name:
            self._create_alias_record(args.domain_name, args.hosted_zone_id)

        self.bucket_name = self.bucket.bucket
        self.distribution_id = self.distribution.id
        self.distribution_arn = self.distribution.arn
        self.web_acl_name = self.web_acl.name
        self.log_groups = [waf_logs, self._cdn_logs]
        self.site_url = (
            pulumi.Output.from_input(f"https://{args.domain_name}")
            if args.domain_name
            else self.distribution.domain_name.apply(lambda dns: f"https://{dns}")
        )
        self._describe_monitoring()
        self.register_outputs(
            {
                "site_url": self.site_url,
                "distribution_id": self.distribution_id,
                "bucket_name": self.bucket_name,
            }
        )

    def _create_distribution(self, args: FrontendArgs) -> None:
        access_control = aws.cloudfront.OriginAccessControl(
            f"{self._name}-oac",
            aws.cloudfront.OriginAccessControlArgs(
                name=physical_name(Names.origin_access_control, self._suffix),
                description="CloudFront signs every request to the frontend bucket",
                origin_access_control_origin_type="s3",
                signing_behavior="always",
                signing_protocol="sigv4",
            ),
            opts=self._child,
        )
        api_routed = bool(args.api_origin_domain and args.origin_header)
        self.spa_function = aws.cloudfront.Function(
            f"{self._name}-spa-rewrite",
            aws.cloudfront.FunctionArgs(
                name=physical_name(Names.spa_function, self._suffix),
                runtime="cloudfront-js-2.0",
                comment="App routes get index.html; /api gets a JSON 404, never the page",
                code=spa_function_code(api_routed=api_routed),
                publish=True,
                tags=name_tag(physical_name(Names.spa_function, self._suffix)),
            ),
            opts=self._child,
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{self._name}-security-headers",
            aws.cloudfront.ResponseHeadersPolicyArgs(
                name=physical_name(Names.response_headers_policy, self._suffix),
                comment="HSTS, CSP, nosniff, DENY framing, strict referrer",
                security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                    # Overrides the API's own HSTS (no preload) on /api/* too: one policy
                    # for everything the distribution serves.
                    strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                        access_control_max_age_sec=HSTS_MAX_AGE_SECONDS,
                        include_subdomains=True,
                        preload=True,
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
        if args.api_origin_domain and args.origin_header:
            origins.append(
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="api",
                    domain_name=args.api_origin_domain,
                    # Proves to the ALB that the request came through this distribution
                    # (CloudFront replaces a viewer's header of the same name).
                    custom_headers=[
                        aws.cloudfront.DistributionOriginCustomHeaderArgs(
                            name=args.origin_header.name, value=args.origin_header.value
                        )
                    ],
                    custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                        http_port=80,  # required by the API, never used: https-only
                        https_port=HTTPS_PORT,
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
                    # certificate name is what CloudFront asks for. Authorization (the API
                    # key) included: with caching disabled, AWS's knowledge-center article
                    # "cloudfront-authorization-header" says the AllViewer policies forward it.
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
                tags=name_tag(physical_name(Names.distribution, self._suffix)),
            ),
            # The origin header's rotation rewrites the /api origin's header (origin_header.py).
            opts=rotated(DISTRIBUTION, self._child) if args.origin_header else self._child,
        )

    def _create_access_logs(self) -> None:
        self._cdn_logs = cdn_logs = log_group(
            f"{self._name}-cdn-logs",
            Names.cloudfront_log_group,
            self._suffix,
            kms_key_arn=self._log_kms_key_arn,
            opts=self._child,
        )
        deliver_to_log_group(
            f"{self._name}-cdn-log",
            log_type="ACCESS_LOGS",
            source_arn=self.distribution.arn,
            log_group_arn=cdn_logs.arn,
            names=(
                Names.cloudfront_log_source,
                Names.cloudfront_log_destination,
                Names.cloudfront_log_delivery,
            ),
            suffix=self._suffix,
            opts=self._child,
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

    def _describe_monitoring(self) -> None:
        by_distribution: list[pulumi.Input[str]] = [
            "DistributionId",
            self.distribution_id,
            "Region",
            "Global",
        ]
        waf_alarm, waf_widget = waf_monitoring(
            self.web_acl_name,
            "CLOUDFRONT",
            alarm_name=Names.alarm_waf_blocked,
            log_group_name=Names.waf_log_group,
            where="at CloudFront",
            title="CloudFront WAF allowed and blocked",
            suffix=self._suffix,
        )
        self.alarms = [waf_alarm]
        self.dashboard_widgets = [
            DashboardWidget(
                title="CloudFront requests",
                metrics=[["AWS/CloudFront", "Requests", *by_distribution]],
                region=CLOUDFRONT_METRICS_REGION,
            ),
            # A percentage: its average over the period, never a sum of percentages.
            DashboardWidget(
                title="CloudFront 5xx error rate (%)",
                metrics=[["AWS/CloudFront", "5xxErrorRate", *by_distribution]],
                stat="Average",
                region=CLOUDFRONT_METRICS_REGION,
            ),
            waf_widget,
        ]
