"""The rules over several settings, each declared once with the note it adds to each key's rule.

``CROSS_RULES`` is checked after every single setting parsed, so all problems still come at
once; ``docs.py`` adds each note to the settings table.
"""

from __future__ import annotations

import re

from payments_infra.config.certificate_settings import (
    API_DOMAIN_NAME,
    CERTIFICATE_ARN,
    CLOUDFRONT_CERTIFICATE_ARN,
    DOMAIN_NAME,
    HOSTED_ZONE_ID,
    SITE_DOMAIN_NAME,
)
from payments_infra.config.choices import (
    Ingress,
)
from payments_infra.config.database_settings import DB_MAX_CAPACITY, DB_MIN_CAPACITY
from payments_infra.config.limits import (
    FARGATE_SIZES,
    REQUIRED_REGION,
)
from payments_infra.config.service_settings import (
    ALB_INGRESS,
    API_CPU,
    API_CPU_ARCHITECTURE,
    API_IMAGE,
    API_IMAGE_TAG,
    API_MEMORY,
)
from payments_infra.config.setting import (
    CrossRule,
    Values,
)
from payments_infra.config.settings import VPC_ENDPOINTS

# -- the rules over several keys ---------------------------------------------------------------


def _capacity_order(values: Values) -> list[str]:
    low, high = values[DB_MIN_CAPACITY], values[DB_MAX_CAPACITY]
    if low > high:  # not "not low <= high": NaN is its own setting's problem
        return [
            f"{DB_MIN_CAPACITY.key} must not exceed {DB_MAX_CAPACITY.key}; got {low:g} > {high:g}"
        ]
    return []


def _dns_mode_pair(values: Values) -> list[str]:
    domain, zone = values[DOMAIN_NAME], values[HOSTED_ZONE_ID]
    if domain and not zone:
        return [
            f"{HOSTED_ZONE_ID.key} must be set with {DOMAIN_NAME.key} (the zone that "
            "validates the certificates); got nothing"
        ]
    if zone and not domain:
        return [f"{DOMAIN_NAME.key} must be set with {HOSTED_ZONE_ID.key}; got nothing"]
    return []


def _one_certificate_mode(values: Values) -> list[str]:
    if values[DOMAIN_NAME] and values[CERTIFICATE_ARN]:
        return [f"Only one of `{DOMAIN_NAME.key}` or `{CERTIFICATE_ARN.key}` can be provided."]
    return []


def _mode_2_extras(values: Values) -> list[str]:
    if values[CERTIFICATE_ARN]:
        return []
    return [
        f"{setting.key} must come with {CERTIFICATE_ARN.key} (certificate mode 2); "
        f'got "{values[setting]}" alone'
        for setting in (CLOUDFRONT_CERTIFICATE_ARN, API_DOMAIN_NAME)
        if values[setting]
    ]


def _site_name_with_certificate(values: Values) -> list[str]:
    if bool(values[SITE_DOMAIN_NAME]) == bool(values[CLOUDFRONT_CERTIFICATE_ARN]):
        return []
    return [
        f"{SITE_DOMAIN_NAME.key} and {CLOUDFRONT_CERTIFICATE_ARN.key} must be set "
        "together (the name and the certificate CloudFront serves it with)"
    ]


def _fargate_size(values: Values) -> list[str]:
    cpu, memory = values[API_CPU], values[API_MEMORY]
    sizes = FARGATE_SIZES.get(cpu)
    if sizes is None or memory in sizes:  # an unknown CPU is API_CPU's own problem
        return []
    return [
        f"{API_MEMORY.key} must be a size Fargate allows with {cpu} CPU units "
        f"({sizes.start} to {sizes.stop - 1} MiB in steps of {sizes.step}); got {memory}"
    ]


def _ingress_needs_an_api_origin(values: Values) -> list[str]:
    """CloudFront-only ingress leaves the API unreachable unless CloudFront has an /api origin,
    which needs a name the ALB's certificate covers (modes 1 and 2 with apiDomainName)."""
    if values[ALB_INGRESS] != Ingress.CLOUDFRONT or values[DOMAIN_NAME] or values[API_DOMAIN_NAME]:
        return []
    return [
        f"{ALB_INGRESS.key} must be internet unless CloudFront routes /api to the ALB "
        f"(set {DOMAIN_NAME.key} and {HOSTED_ZONE_ID.key}, or {CERTIFICATE_ARN.key} and "
        f'{API_DOMAIN_NAME.key}); got "cloudfront"'
    ]


# A private ECR registry of this region, any account: what the tasks reach through the ECR
# endpoints and S3's gateway endpoint (the layers).
REGIONAL_ECR = re.compile(rf"[0-9]{{12}}\.dkr\.ecr\.{REQUIRED_REGION}\.amazonaws\.com/.+")


def _image_reachable(values: Values) -> list[str]:
    """With the endpoints on, the tasks reach only the endpoints, S3 in this region, the
    database and the allow-list: an image anywhere else is never pulled, and the service
    never becomes steady. The allow-list takes addresses, and a public registry's (a CDN)
    are neither known nor fixed, so this refuses rather than trusting an entry there."""
    image = values[API_IMAGE]
    if not image or not values[VPC_ENDPOINTS] or REGIONAL_ECR.fullmatch(image):
        return []
    return [
        f"{API_IMAGE.key} must be in a private ECR registry of {REQUIRED_REGION} "
        f"(<account>.dkr.ecr.{REQUIRED_REGION}.amazonaws.com/...) while {VPC_ENDPOINTS.key} "
        "is true: the tasks may reach only the VPC endpoints, S3, the database and "
        f'payments:egressAllowList, so they could never pull it; got "{image}". Push the '
        f"image to ECR in {REQUIRED_REGION}, or set {VPC_ENDPOINTS.key} to false"
    ]


# The tags the stack's own build pushes (earlier ones had no commit) end in the platform
# (components/api/image.py, platform_tag): arm64 or x86-64.
_BUILT_TAG = re.compile(r"src-[0-9a-f]{16}-(?:.+-)?(arm64|x86-64)")


def _one_image_source(values: Values) -> list[str]:
    """apiImageTag runs an earlier image of the stack's own repository, which apiImage (from
    outside the stack) removes: never both. A tag of the stack's own build names its platform,
    and the tasks' must be it, or they never start."""
    tag, image = values[API_IMAGE_TAG], values[API_IMAGE]
    if not tag:
        return []
    if image:
        return [
            f"{API_IMAGE_TAG.key} must not be set with {API_IMAGE.key} ({API_IMAGE_TAG.key} runs "
            f"an earlier image of the stack's own ECR repository, {API_IMAGE.key} an image from "
            f'outside the stack, and removes that repository); got "{tag}" and "{image}"'
        ]
    built = _BUILT_TAG.fullmatch(tag)
    architecture = values[API_CPU_ARCHITECTURE]
    platform = architecture.lower().replace("_", "-")
    if built and built.group(1) != platform:
        return [
            f"{API_IMAGE_TAG.key} must name an image built for {API_CPU_ARCHITECTURE.key} "
            f'{architecture} (a tag ending in -{platform}); got "{tag}"'
        ]
    return []


_DEFAULT_SIZES = FARGATE_SIZES[API_CPU.default]
CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule(
        {
            DB_MIN_CAPACITY.key: f"at most {DB_MAX_CAPACITY.key}",
            DB_MAX_CAPACITY.key: f"at least {DB_MIN_CAPACITY.key}",
        },
        _capacity_order,
    ),
    CrossRule(
        {
            DOMAIN_NAME.key: f"needs {HOSTED_ZONE_ID.key}",
            HOSTED_ZONE_ID.key: f"only with {DOMAIN_NAME.key}",
        },
        _dns_mode_pair,
    ),
    CrossRule(
        {
            DOMAIN_NAME.key: f"not with {CERTIFICATE_ARN.key}",
            CERTIFICATE_ARN.key: f"not with {DOMAIN_NAME.key}",
        },
        _one_certificate_mode,
    ),
    CrossRule(
        {
            CLOUDFRONT_CERTIFICATE_ARN.key: f"only with {CERTIFICATE_ARN.key}",
            API_DOMAIN_NAME.key: f"only with {CERTIFICATE_ARN.key}",
        },
        _mode_2_extras,
    ),
    CrossRule(
        {
            SITE_DOMAIN_NAME.key: f"both or neither with {CLOUDFRONT_CERTIFICATE_ARN.key}",
            CLOUDFRONT_CERTIFICATE_ARN.key: f"both or neither with {SITE_DOMAIN_NAME.key}",
        },
        _site_name_with_certificate,
    ),
    CrossRule(
        {
            API_CPU.key: "with a memory size Fargate allows",
            API_MEMORY.key: f"a size Fargate allows for {API_CPU.key} ({API_CPU.default}: "
            f"{_DEFAULT_SIZES.start} to {_DEFAULT_SIZES.stop - 1} in {_DEFAULT_SIZES.step} steps)",
        },
        _fargate_size,
    ),
    CrossRule(
        {
            ALB_INGRESS.key: "cloudfront only where CloudFront routes /api to the ALB "
            f"({DOMAIN_NAME.key}, or {CERTIFICATE_ARN.key} with {API_DOMAIN_NAME.key})",
        },
        _ingress_needs_an_api_origin,
    ),
    CrossRule(
        {
            API_IMAGE.key: f"in a private ECR registry of {REQUIRED_REGION} while "
            f"{VPC_ENDPOINTS.key} is true",
            VPC_ENDPOINTS.key: f"false for a {API_IMAGE.key} outside ECR in {REQUIRED_REGION}",
        },
        _image_reachable,
    ),
    CrossRule(
        {
            API_IMAGE.key: f"not with {API_IMAGE_TAG.key}",
            API_IMAGE_TAG.key: f"not with {API_IMAGE.key}; a tag of the stack's build must name "
            f"the platform of {API_CPU_ARCHITECTURE.key}",
        },
        _one_image_source,
    ),
)
