"""The stack's one explicit ``aws.Provider``, and the look-ups made through it.

Every AWS resource reaches this provider through its component's ``parent`` chain, never
the default provider: region and default tags are then set in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.tagging import default_tags
from payments_infra.config import AZ_COUNT, StackConfig
from payments_infra.config.errors import ConfigError

# Its logical name: checks.py recognises the stack's provider by it.
PROVIDER_NAME = "aws-provider"


def create_aws_provider(config: StackConfig) -> aws.Provider:
    return aws.Provider(
        PROVIDER_NAME,
        aws.ProviderArgs(
            region=config.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(config)),
        ),
    )


def resolve_availability_zones(config: StackConfig, provider: aws.Provider) -> list[str]:
    """The zones to build in: the configured ones, or the region's first three.

    The result decides the shape of the graph, so it is a plain list (an invoke that
    returns plain values), never an Output. Zones that need an opt-in (Local Zones,
    Wavelength) are left out.
    """
    if config.availability_zones is not None:
        return list(config.availability_zones)
    found = aws.get_availability_zones(
        state="available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
        ],
        opts=pulumi.InvokeOptions(provider=provider),
    )
    zones = sorted(found.names)
    if len(zones) < AZ_COUNT:
        raise ConfigError(
            [
                f"aws:region must offer at least {AZ_COUNT} available availability zones; "
                f"got {zones} in {config.region}"
            ]
        )
    return zones[:AZ_COUNT]


@dataclass(frozen=True)
class EngineVersion:
    """An exact Aurora PostgreSQL version and the parameter group family that goes with it."""

    version: str
    parameter_group_family: str


def resolve_engine_version(config: StackConfig, provider: aws.Provider) -> EngineVersion:
    """The configured version made exact: "17" becomes the region's default 17.x.

    A plain invoke, like the zones: the version decides the parameter group family, and the
    graph must not depend on an Output for that.
    """
    found = aws.rds.get_engine_version(
        engine="aurora-postgresql",
        version=config.database.engine_version,
        default_only="." not in config.database.engine_version,
        opts=pulumi.InvokeOptions(provider=provider),
    )
    return EngineVersion(found.version, found.parameter_group_family)


CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"


def cloudfront_prefix_list_id(provider: aws.Provider) -> str:
    """The AWS-managed prefix list of CloudFront's origin-facing addresses."""
    found = aws.ec2.get_managed_prefix_list(
        name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, opts=pulumi.InvokeOptions(provider=provider)
    )
    return found.id
