"""The enumerated settings, as ``StrEnum``s.

A member is a ``str`` equal to its value (``Ingress.CLOUDFRONT == "cloudfront"``), so code that
compares with strings and Pulumi inputs that expect strings take members unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Environment(StrEnum):
    """What the stack is for: its ``Environment`` tag (``payments:environment``)."""

    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


class Ingress(StrEnum):
    """Who may reach the ALB on 443 (``payments:albIngress``)."""

    INTERNET = "internet"
    CLOUDFRONT = "cloudfront"


class CpuArchitecture(StrEnum):
    """The API task's CPU (``payments:apiCpuArchitecture``), as ECS spells it."""

    ARM64 = "ARM64"
    X86_64 = "X86_64"


class LogDelivery(StrEnum):
    """How ALB access logs reach CloudWatch (``payments:albAccessLogDelivery``)."""

    FORWARDER = "forwarder"
    NATIVE = "native"


class LogArchive(StrEnum):
    """Where log groups are archived besides CloudWatch (``payments:logArchive``)."""

    NONE = "none"
    S3 = "s3"


class PriceClass(StrEnum):
    """CloudFront's edge locations (``payments:priceClass``), as CloudFront spells them."""

    PRICE_CLASS_100 = "PriceClass_100"
    PRICE_CLASS_200 = "PriceClass_200"
    PRICE_CLASS_ALL = "PriceClass_All"


class CertificateMode(StrEnum):
    """Where the certificates come from; derived from the certificate keys, not set itself."""

    DNS = "dns"  # mode 1: ACM, validated in Route 53
    EXISTING = "existing"  # mode 2: ARNs the user gives
    SELF_SIGNED = "self-signed"  # mode 3: a demo certificate imported into ACM
