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
