"""The stack's one explicit ``aws.Provider``, and the look-ups made through it.

Every AWS resource reaches this provider through its component's ``parent`` chain, never
the default provider: region and default tags are then set in exactly one place.
"""

from __future__ import annotations

from collections.abc import Sequence
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
            # The account guard: credentials of any other account fail before any change.
            allowed_account_ids=[config.account_id] if config.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(config)),
        ),
    )


# Zone IDs the automatic choice leaves out, each with what AWS documents it lacks. A zone ID
# names the same physical zone in every account; a zone name (us-east-1a) does not in the old
# regions, us-east-1 among them, for accounts made before November 2025 (AWS Regions and
# Availability Zones guide, "AZ IDs"). Sources, each an AWS page:
# - use1-az3: Fargate runs no 64-bit ARM tasks there, and the API's tasks are ARM64 by default
#   (ECS developer guide, "Amazon ECS task definitions for 64-bit ARM workloads",
#   ecs-arm64.html: "US East (N. Virginia), the use1-az3 Availability Zone"). The same zone is
#   left out of Fargate's Windows containers (ECS, "Supported Regions for Amazon ECS on AWS
#   Fargate": use1-az1, 2, 4, 5 and 6 only), of RDS Proxy (RDS/Aurora user guides, "Limitations
#   for RDS Proxy") and of EFS One Zone file systems (EFS user guide, "Supported Availability
#   Zones for One Zone file systems"). We found no other us-east-1 zone ID documented as
#   lacking something this stack uses.
# What each planned zone offers the stack (Aurora Serverless v2, the interface endpoints) is
# asked of the account itself by the preflight of `make up` (offline/preflight.py).
LIMITED_ZONE_IDS: dict[str, str] = {
    "use1-az3": "Fargate runs no ARM64 tasks there (ECS developer guide, 64-bit ARM workloads)",
}


@dataclass(frozen=True, order=True)
class Zone:
    """An availability zone: its name in this account, and its ID, the same in every account."""

    name: str
    zone_id: str


def choose_zones(names: Sequence[str], zone_ids: Sequence[str]) -> list[Zone]:
    """The first three zones by name whose zone ID is not a limited one.

    ``names`` and ``zone_ids`` are the look-up's two lists, in the same order. By name, as
    before zone IDs were considered: a stack whose zones are all outside ``LIMITED_ZONE_IDS``
    keeps exactly the zones it had.
    """
    zones = sorted(Zone(n, i) for n, i in zip(names, zone_ids, strict=True))
    return [z for z in zones if z.zone_id not in LIMITED_ZONE_IDS][:AZ_COUNT]


def resolve_zones(config: StackConfig, provider: aws.Provider) -> list[Zone]:
    """The zones to build in, with their zone IDs: the configured ones, or ``choose_zones``.

    The result decides the shape of the graph, so it is plain values (an invoke that returns
    plain values), never an Output. Zones that need an opt-in (Local Zones, Wavelength) are
    left out. Zones pinned with payments:availabilityZones are used as given, a limited one
    too (the setting is how to choose one on purpose); a pinned name the account does not have
    stops the program before any resource exists.
    """
    pinned = config.availability_zones
    found = aws.get_availability_zones(
        # A pinned zone is looked up whatever its state: a stack pinned to a zone that is
        # impaired right now must still deploy (a fix during the incident, say).
        state=None if pinned is not None else "available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
        ],
        opts=pulumi.InvokeOptions(provider=provider),
    )
    zone_ids = dict(zip(found.names, found.zone_ids, strict=True))
    if pinned is not None:
        unknown = [z for z in pinned if z not in zone_ids]
        if unknown:
            raise ConfigError(
                [
                    f"payments:availabilityZones must name zones this account has in "
                    f"{config.region} ({', '.join(sorted(zone_ids))}); got {unknown}"
                ]
            )
        return [Zone(z, zone_ids[z]) for z in pinned]
    zones = choose_zones(found.names, found.zone_ids)
    if len(zones) < AZ_COUNT:
        left_out = sorted(n for n, i in zone_ids.items() if i in LIMITED_ZONE_IDS)
        raise ConfigError(
            [
                f"aws:region must offer at least {AZ_COUNT} available availability zones; "
                f"got {sorted(zone_ids)} in {config.region}"
                + (f", of which {left_out} are limited ones left out" if left_out else "")
                + " (pin three with payments:availabilityZones to use a limited one)"
            ]
        )
    return zones


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
