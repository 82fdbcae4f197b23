"""Certificates component: the ALB's (and CloudFront's) certificates, in one of three modes.

1. ``dns`` (``payments:domainName`` + ``payments:hostedZoneId``): ACM certificates for
   ``api.<domain>`` (the ALB) and ``<domain>`` (CloudFront), validated by DNS records in the
   Route 53 zone, and ``CertificateValidation`` resources that wait until ACM has issued them.
   No manual step.
2. ``existing`` (``payments:certificateArn``, optionally ``payments:cloudfrontCertificateArn``
   and ``payments:apiDomainName``): certificates you already have, referenced.
3. ``self-signed`` (neither): a key and a self-signed certificate made with pulumi-tls and
   imported into ACM, so the ALB serves HTTPS out of the box. A demo: browsers warn, and
   CloudFront, which verifies an origin's certificate, cannot use the ALB as its ``/api``
   origin. The certificate names ``*.us-east-1.elb.amazonaws.com``, so a client that trusts
   this one certificate (the ``api_certificate_pem`` output) can verify the ALB's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION, CertificateSettings
from payments_infra.config.naming import Names, physical_name

# Every ALB name in the region is one label under this, so a wildcard covers any of them.
ALB_WILDCARD = f"*.{REQUIRED_REGION}.elb.amazonaws.com"
SELF_SIGNED_VALIDITY_HOURS = 24 * 365


@dataclass(frozen=True, kw_only=True)
class CertificatesArgs:
    """Inputs of the Certificates component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    settings: CertificateSettings
    """The mode and its inputs, validated by StackConfig. Required."""


class Certificates(pulumi.ComponentResource):
    """The API's certificate ARN (and CloudFront's) for the stack's certificate mode."""

    api_certificate_arn: pulumi.Output[str]
    cloudfront_certificate_arn: pulumi.Output[str] | None
    api_certificate_pem: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:edge:Certificates", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        settings = args.settings
        self.mode = settings.mode
        self.hosted_zone_id = settings.hosted_zone_id
        self.api_certificate_pem = None
        self.cloudfront_certificate_arn = None
        # The name CloudFront may use to reach the API over verified HTTPS (None: it cannot).
        self.api_domain_name: str | None = None

        if settings.domain_name:
            self.api_domain_name = f"api.{settings.domain_name}"
            self.api_certificate_arn = self._dns_validated(
                "api", self.api_domain_name, physical_name(Names.api_certificate, self._suffix)
            )
            self.cloudfront_certificate_arn = self._dns_validated(
                "cloudfront",
                settings.domain_name,
                physical_name(Names.cloudfront_certificate, self._suffix),
            )
        elif settings.certificate_arn:
            self.api_domain_name = settings.api_domain_name
            self.api_certificate_arn = pulumi.Output.from_input(settings.certificate_arn)
            if settings.cloudfront_certificate_arn:
                self.cloudfront_certificate_arn = pulumi.Output.from_input(
                    settings.cloudfront_certificate_arn
                )
        else:
            self.api_certificate_arn = self._self_signed()

        self.register_outputs({"api_certificate_arn": self.api_certificate_arn, "mode": self.mode})

    def _dns_validated(self, role: str, domain_name: str, tag_name: str) -> pulumi.Output[str]:
        certificate = aws.acm.Certificate(
            f"{self._name}-{role}",
            aws.acm.CertificateArgs(
                domain_name=domain_name,
                validation_method="DNS",
                key_algorithm="EC_prime256v1",
                tags=name_tag(tag_name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # One name per certificate, so exactly one validation record: its shape is known
        # while planning, and only the values come from ACM.
        option = certificate.domain_validation_options[0]
        record = aws.route53.Record(
            f"{self._name}-{role}-validation",
            aws.route53.RecordArgs(
                zone_id=self.hosted_zone_id or "",
                name=option.resource_record_name.apply(lambda v: v or ""),
                type=option.resource_record_type.apply(lambda v: v or "CNAME"),
                records=[option.resource_record_value.apply(lambda v: v or "")],
                ttl=300,
                # ACM reuses a validation record across certificates of the same name.
                allow_overwrite=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        validation = aws.acm.CertificateValidation(
            f"{self._name}-{role}-validated",
            aws.acm.CertificateValidationArgs(
                certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return validation.certificate_arn

    def _self_signed(self) -> pulumi.Output[str]:
        key = tls.PrivateKey(
            f"{self._name}-self-signed-key",
            tls.PrivateKeyArgs(algorithm="ECDSA", ecdsa_curve="P256"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        certificate = tls.SelfSignedCert(
            f"{self._name}-self-signed",
            tls.SelfSignedCertArgs(
                private_key_pem=pulumi.Output.secret(key.private_key_pem),
                subject=tls.SelfSignedCertSubjectArgs(
                    common_name=ALB_WILDCARD, organization="payments platform (demo)"
                ),
                dns_names=[ALB_WILDCARD],
                validity_period_hours=SELF_SIGNED_VALIDITY_HOURS,
                early_renewal_hours=24 * 30,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        imported = aws.acm.Certificate(
            f"{self._name}-api",
            aws.acm.CertificateArgs(
                private_key=pulumi.Output.secret(key.private_key_pem),
                certificate_body=certificate.cert_pem,
                tags=name_tag(physical_name(Names.api_certificate, self._suffix)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.api_certificate_pem = certificate.cert_pem
        return imported.arn
