"""The web app's files and the private bucket they are served from.

``load_site`` reads the built app (before any resource exists, so a missing build never
deploys an empty site); ``create_site_bucket`` makes the bucket ``frontend-{suffix}`` (all
public access blocked, bucket-owner-enforced ownership, SSE-S3, versioning with noncurrent
versions expiring after 30 days, emptied on destroy) and uploads each file with its
Content-Type, ``no-cache`` on ``index.html`` and a year of immutable caching on the hashed
assets; ``allow_reads_from`` gives the bucket its policy: only the one CloudFront
distribution reads (through Origin Access Control), and plain HTTP is refused.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from payments_infra import REPO_ROOT
from payments_infra.aws.buckets import lifecycle_rule, private_bucket, versioned
from payments_infra.aws.policies import deny_insecure_transport, policy_document
from payments_infra.aws.tagging import name_tag
from payments_infra.config.errors import ConfigError
from payments_infra.config.naming import Names, physical_name

NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=3600"
NONCURRENT_VERSION_DAYS = 30


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


def create_site_bucket(
    name: str, suffix: str, site_files: list[SiteFile], *, opts: pulumi.ResourceOptions
) -> aws.s3.Bucket:
    """The private, versioned bucket holding ``site_files``; ``name`` prefixes logical names."""
    # SSE-S3: the bucket holds the public web app, no cardholder data; a KMS key would add
    # a key policy for CloudFront and a KMS call per uncached request for no protection
    # the content needs (docs/architecture.md, "Frontend tier").
    site_bucket = private_bucket(f"{name}-bucket", Names.frontend_bucket, suffix, opts=opts)
    bucket = site_bucket.bucket
    versioned(f"{name}-bucket-versioning", bucket, opts)
    lifecycle_rule(
        f"{name}-bucket-lifecycle",
        bucket,
        "expire-old-versions",
        expire_noncurrent_after_days=NONCURRENT_VERSION_DAYS,
        opts=opts,
    )
    for site_file in site_files:
        aws.s3.BucketObjectv2(
            f"{name}-file-{site_file.key}",
            aws.s3.BucketObjectv2Args(
                bucket=bucket,
                key=site_file.key,
                source=pulumi.FileAsset(str(site_file.path)),
                content_type=site_file.content_type,
                cache_control=site_file.cache_control,
                tags=name_tag(physical_name(Names.frontend_object, suffix)),
            ),
            opts=opts,
        )
    return site_bucket


def allow_reads_from(
    name: str,
    site_bucket: aws.s3.Bucket,
    distribution_arn: pulumi.Input[str],
    *,
    opts: pulumi.ResourceOptions,
) -> None:
    """The bucket's policy: only this distribution reads, only over TLS."""
    aws.s3.BucketPolicy(
        f"{name}-bucket-policy",
        aws.s3.BucketPolicyArgs(
            bucket=site_bucket.bucket,
            policy=pulumi.Output.all(
                bucket_arn=site_bucket.arn, distribution_arn=distribution_arn
            ).apply(lambda v: frontend_bucket_policy(**v)),
        ),
        opts=opts,
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
