"""Preflight of `make up`: the zones the stack will build in, and what each offers it.

The offline plan's mocks answer the zone look-up with placeholders; these checks ask the
account, choose as aws/provider.py does, and ask whether each zone offers Aurora Serverless
v2 and every interface endpoint the plan holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from payments_infra.config import AZ_COUNT, REQUIRED_REGION, StackConfig

if TYPE_CHECKING:
    from payments_infra.aws.provider import Zone
    from payments_infra.offline.graph import Graph


# The zones `pulumi up` will build in are this account's, not the offline plan's (its mocks
# answer the zone look-up with placeholders): ask EC2, and choose as aws/provider.py does.
ZONE_FILTERS = [{"Name": "opt-in-status", "Values": ["opt-in-not-required"]}]
DB_INSTANCE_CLASS = "db.serverless"  # Aurora Serverless v2, the writer's and the reader's


def _label(zones: Sequence[Zone]) -> str:
    return ", ".join(f"{z.name} ({z.zone_id})" for z in zones)


def planned_zones(ec2: Any, pinned: Sequence[str] | None) -> tuple[list[Zone], list[str]]:
    """The zones this account gives the stack, the way resolve_zones chooses them, or the
    problem that stops the program before it chooses any."""
    from payments_infra.aws.provider import Zone, choose_zones  # noqa: PLC0415 (pulumi_aws)

    filters = (
        ZONE_FILTERS
        if pinned is not None
        else [
            *ZONE_FILTERS,
            {"Name": "state", "Values": ["available"]},
        ]
    )
    listed = ec2.describe_availability_zones(Filters=filters)["AvailabilityZones"]
    zone_ids = {z["ZoneName"]: z["ZoneId"] for z in listed}
    if pinned is not None:
        unknown = [z for z in pinned if z not in zone_ids]
        if unknown:
            return [], [
                f"payments:availabilityZones names {', '.join(unknown)}, which this account "
                f"does not have in {REQUIRED_REGION} (it has {', '.join(sorted(zone_ids))}): "
                "pin zones from that list, then run again"
            ]
        return [Zone(z, zone_ids[z]) for z in pinned], []
    zones = choose_zones(list(zone_ids), list(zone_ids.values()))
    if len(zones) < AZ_COUNT:
        return [], [
            f"this account has only {_label(zones) or 'no zones'} available in "
            f"{REQUIRED_REGION} outside the limited zone IDs: pin three zones with "
            "payments:availabilityZones, then run again"
        ]
    return zones, []


def pinned_zone_problems(zones: Sequence[Zone], architecture: str) -> list[str]:
    """A pinned zone is used as given: name the one whose documented limit the stack hits."""
    from payments_infra.aws.provider import LIMITED_ZONE_IDS  # noqa: PLC0415 (pulumi_aws)

    limited = [z for z in zones if z.zone_id in LIMITED_ZONE_IDS]
    if architecture != "ARM64" or not limited:
        return []
    return [
        f"payments:availabilityZones pins {_label(limited)}, and "
        f"{LIMITED_ZONE_IDS[limited[0].zone_id]}, while payments:apiCpuArchitecture is ARM64: "
        "pin another zone (aws ec2 describe-availability-zones shows each zone's ID), remove "
        "the setting so the stack chooses, or set payments:apiCpuArchitecture to X86_64"
    ]


def serverless_problems(rds: Any, zones: Sequence[Zone], engine_version: str) -> list[str]:
    """Aurora Serverless v2 of the configured version must be orderable in each zone.

    All three, though the writer and the reader take the first two
    (components/database/database.py): the database's subnets span all three, and a zone
    without it is one to keep out anyway.
    """
    exact = "." in engine_version
    query = {"Engine": "aurora-postgresql", "DBInstanceClass": DB_INSTANCE_CLASS}
    if exact:
        query["EngineVersion"] = engine_version
    offered: set[str] = set()
    for page in rds.get_paginator("describe_orderable_db_instance_options").paginate(**query):
        for option in page["OrderableDBInstanceOptions"]:
            if exact or str(option.get("EngineVersion", "")).split(".")[0] == engine_version:
                offered |= {az["Name"] for az in option.get("AvailabilityZones", [])}
    missing = [z for z in zones if z.name not in offered]
    if not missing:
        return []
    return [
        f"Aurora PostgreSQL {engine_version} Serverless v2 ({DB_INSTANCE_CLASS}) is not "
        f"offered in {_label(missing)} in this account (RDS DescribeOrderableDBInstanceOptions): "
        "pin payments:availabilityZones to three zones that offer it, or choose another "
        "payments:dbEngineVersion, then run again"
    ]


def interface_endpoint_services(graph: Graph) -> list[str]:
    """The endpoint services of the plan's interface endpoints (none without vpcEndpoints)."""
    return sorted(
        str(e.inputs["serviceName"])
        for e in graph.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs.get("vpcEndpointType") == "Interface"
    )


def endpoint_problems(ec2: Any, zones: Sequence[Zone], services: Sequence[str]) -> list[str]:
    """Each interface endpoint puts a network interface in every zone: each must offer it."""
    if not services:
        return []
    offered: dict[str, set[str]] = {}
    pages = ec2.get_paginator("describe_vpc_endpoint_services").paginate(
        ServiceNames=list(services)
    )
    for page in pages:
        for detail in page["ServiceDetails"]:
            offered[detail["ServiceName"]] = set(detail.get("AvailabilityZones", []))
    gaps = [
        f"{service} in {_label([z])}"
        for service in services
        for z in zones
        if z.name not in offered.get(service, set())
    ]
    if not gaps:
        return []
    return [
        f"these VPC interface endpoints are not offered in the stack's zones: "
        f"{', '.join(gaps)} (EC2 DescribeVpcEndpointServices): pin payments:availabilityZones "
        "to three zones that offer them, or set payments:vpcEndpoints to false, then run again"
    ]


def zone_problems(
    ec2: Any, rds: Any, config: StackConfig, endpoint_services: Sequence[str]
) -> list[str]:
    """What the zones `pulumi up` will choose in this account lack that the stack needs."""
    zones, found = planned_zones(ec2, config.availability_zones)
    if found:
        return found
    if config.availability_zones is not None:
        found += pinned_zone_problems(zones, str(config.service.cpu_architecture))
    found += serverless_problems(rds, zones, config.database.engine_version)
    found += endpoint_problems(ec2, zones, endpoint_services)
    return found
