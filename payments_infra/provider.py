"""The stack's one explicit ``aws.Provider``, and the look-ups made through it.

Every AWS resource reaches this provider through its component's ``parent`` chain, never
the default provider: region and default tags are then set in exactly one place.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from payments_infra.config import AZ_COUNT, StackConfig
from payments_infra.errors import ConfigError
from payments_infra.tagging import default_tags


def create_aws_provider(config: StackConfig) -> aws.Provider:
    return aws.Provider(
        "aws-provider",
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
