"""The stack configurations the tests record the program with (plain data, no fixtures)."""

from __future__ import annotations

SUFFIX = "test1"
# A small built web app, so the tests do not depend on `npm run build`.
WEB_DIST = "tests/fixtures/web_dist"
VALID_CONFIG = {
    "payments:environmentSuffix": SUFFIX,
    "aws:region": "us-east-1",
    "payments:webDistDir": WEB_DIST,
}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]

# Certificate mode 1: DNS-validated certificates in a Route 53 zone.
DNS = {"payments:domainName": "pay.example.com", "payments:hostedZoneId": "Z0123456789ABC"}
# Certificate mode 2: existing ACM certificates and the names they cover.
CERT_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
CF_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
EXISTING = {
    "payments:certificateArn": CERT_ARN,
    "payments:cloudfrontCertificateArn": CF_ARN,
    "payments:siteDomainName": "pay.example.com",
    "payments:apiDomainName": "api.pay.example.com",
}

# Every optional part at once: DNS certificates, rotation, the log archive, native ALB logs,
# CloudFront-only ingress, alerts, an egress allow-list, the account-wide controls.
EVERYTHING = {
    **VALID_CONFIG,
    **DNS,
    "payments:dbRotationDays": "30",
    "payments:logArchive": "s3",
    "payments:albAccessLogDelivery": "native",
    "payments:albIngress": "cloudfront",
    "payments:alertEmails": '["oncall@example.com"]',
    "payments:egressAllowList": '["52.94.10.0/24:443"]',
    "payments:accountControls": "true",
}
PREBUILT_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/payments-api@sha256:{'ab' * 32}"

# One stack per certificate mode and per optional setting: the checks that must hold on every
# configuration (the AWS API model, the IAM lint) run on each.
TEST_STACKS: dict[str, dict[str, str]] = {
    "self-signed": VALID_CONFIG,
    "dns": {**VALID_CONFIG, **DNS},
    "existing": {**VALID_CONFIG, **EXISTING},
    "existing-api-certificate-only": {
        **VALID_CONFIG,
        "payments:certificateArn": CERT_ARN,
        "payments:apiDomainName": "api.pay.example.com",
    },
    "everything": EVERYTHING,
    "no-endpoints": {
        **VALID_CONFIG,
        "payments:vpcEndpoints": "false",
        "payments:egressAllowList": '["52.94.10.0/24:443", "54.239.10.0/24:8443"]',
    },
    "prebuilt-image-x86": {
        **VALID_CONFIG,
        "payments:apiImage": PREBUILT_IMAGE,
        "payments:apiCpuArchitecture": "X86_64",
    },
    "rotation-off": {**VALID_CONFIG, "payments:dbRotationDays": "0"},
}
