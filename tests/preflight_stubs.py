"""AWS's answers that several preflight test files share, stubbed with botocore's Stubber
(tests.aws_stubs): the account's zones and what they offer, and its one-per-account controls."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from payments_infra.aws.provider import Zone
from payments_infra.offline import account_controls_check
from tests.aws_stubs import stubbed

# An account where us-east-1a is the limited use1-az3.
ACCOUNT_ZONES = {
    "us-east-1a": "use1-az3",
    "us-east-1b": "use1-az6",
    "us-east-1c": "use1-az1",
    "us-east-1d": "use1-az2",
    "us-east-1e": "use1-az4",
    "us-east-1f": "use1-az5",
}
OPT_IN = {"Name": "opt-in-status", "Values": ["opt-in-not-required"]}


def ec2_zones(pinned: bool = False) -> tuple[Any, Stubber]:
    """EC2 answering the zone look-up with ACCOUNT_ZONES, asked as the program asks it."""
    client, stub = stubbed("ec2")
    filters = [OPT_IN] if pinned else [OPT_IN, {"Name": "state", "Values": ["available"]}]
    stub.add_response(
        "describe_availability_zones",
        {
            "AvailabilityZones": [
                {"ZoneName": name, "ZoneId": zone_id, "State": "available"}
                for name, zone_id in ACCOUNT_ZONES.items()
            ]
        },
        expected_params={"Filters": filters},
    )
    return client, stub


def zone(name: str) -> Zone:
    """The zone of that name in this account."""
    return Zone(name, ACCOUNT_ZONES[name])


def orderable(zones_by_version: dict[str, list[str]]) -> dict[str, Any]:
    """RDS's orderable Serverless v2 options: engine version -> the zones that offer it."""
    return {
        "OrderableDBInstanceOptions": [
            {
                "Engine": "aurora-postgresql",
                "EngineVersion": version,
                "DBInstanceClass": "db.serverless",
                "AvailabilityZones": [{"Name": z} for z in zones],
            }
            for version, zones in zones_by_version.items()
        ]
    }


SERVERLESS = {"Engine": "aurora-postgresql", "DBInstanceClass": "db.serverless"}


# The interface endpoint services of Pulumi.dev.yaml's plan (payments:vpcEndpoints is on).
ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


def controls_stubs(
    *,
    detectors: list[tuple[str, dict[str, str]]] = (),  # type: ignore[assignment]
    recorders: list[str] = (),  # type: ignore[assignment]
    channels: list[str] = (),  # type: ignore[assignment]
    trails: list[tuple[str, str]] = (),  # type: ignore[assignment]
    hub: bool = False,
) -> tuple[account_controls_check.AccountControlClients, list[Stubber]]:
    """The four services' clients, answering that the account has these controls, and their
    Stubbers, not yet active."""
    guardduty, guardduty_stub = stubbed("guardduty")
    guardduty_stub.add_response("list_detectors", {"DetectorIds": [d for d, _ in detectors]})
    for detector_id, tags in detectors:
        guardduty_stub.add_response(
            "get_detector",
            {"ServiceRole": "arn:aws:iam::123456789012:role/gd", "Status": "ENABLED", "Tags": tags},
            expected_params={"DetectorId": detector_id},
        )
    config, config_stub = stubbed("config")
    config_stub.add_response(
        "describe_configuration_recorders",
        {"ConfigurationRecorders": [{"name": n} for n in recorders]},
    )
    config_stub.add_response(
        "describe_delivery_channels", {"DeliveryChannels": [{"name": n} for n in channels]}
    )
    cloudtrail, cloudtrail_stub = stubbed("cloudtrail")
    cloudtrail_stub.add_response(
        "describe_trails",
        {"trailList": [{"Name": n, "HomeRegion": r} for n, r in trails]},
        expected_params={"includeShadowTrails": True},
    )
    securityhub, securityhub_stub = stubbed("securityhub")
    if hub:
        securityhub_stub.add_response(
            "describe_hub", {"HubArn": "arn:aws:securityhub:us-east-1:123456789012:hub/default"}
        )
    else:
        securityhub_stub.add_client_error(
            "describe_hub",
            "InvalidAccessException",
            "Account 123456789012 is not subscribed to AWS Security Hub",
            http_status_code=401,
        )
    clients = account_controls_check.AccountControlClients(
        guardduty, securityhub, config, cloudtrail
    )
    return clients, [guardduty_stub, config_stub, cloudtrail_stub, securityhub_stub]
