"""Preflight of `make up` with payments:accountControls: the account's one-per-account
controls (GuardDuty, Security Hub, AWS Config, CloudTrail) are not someone else's already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payments_infra import PROJECT
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class AccountControlClients:
    """The four services whose one-per-account controls payments:accountControls creates."""

    guardduty: Any
    securityhub: Any
    config: Any
    cloudtrail: Any


def account_control_problems(clients: AccountControlClients, suffix: str, stack: str) -> list[str]:
    """payments:accountControls would create what the account may have already: say which.

    The stack's own (a second ``make up``) are recognised by their names, or, for the
    GuardDuty detector, by its Project and Stack tags. Security Hub has neither a name nor
    tags to tell: an enabled hub counts as this stack's when another of its controls exists.
    """
    found: list[str] = []
    ours = False
    guardduty = clients.guardduty
    for detector_id in guardduty.list_detectors()["DetectorIds"]:
        tags = guardduty.get_detector(DetectorId=detector_id).get("Tags") or {}
        if tags.get("Project") == PROJECT and tags.get("Stack") == stack:
            ours = True
        else:
            found.append(f"a GuardDuty detector ({detector_id})")
    config = clients.config
    for kind, listed, key, own in (
        (
            "recorder",
            config.describe_configuration_recorders()["ConfigurationRecorders"],
            "name",
            physical_name(Names.config_recorder, suffix),
        ),
        (
            "delivery channel",
            config.describe_delivery_channels()["DeliveryChannels"],
            "name",
            physical_name(Names.config_delivery_channel, suffix),
        ),
    ):
        for item in listed:
            if item[key] == own:
                ours = True
            else:
                found.append(f"an AWS Config {kind} ({item[key]})")
    own_trail = physical_name(Names.cloudtrail_trail, suffix)
    for trail in clients.cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]:
        if trail["Name"] == own_trail and trail.get("HomeRegion") == REQUIRED_REGION:
            ours = True
        else:
            found.append(f"a CloudTrail trail ({trail['Name']})")
    if _security_hub_enabled(clients.securityhub) and not ours:
        found.append("Security Hub")
    if not found:
        return []
    return [
        f"payments:accountControls is true, but this account already has {', '.join(found)} "
        f"in {REQUIRED_REGION}: these are one per account (often the organisation's), so set "
        "payments:accountControls to false to rely on them, or remove them, then run again"
    ]


def _security_hub_enabled(securityhub: Any) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        securityhub.describe_hub()
    except ClientError as error:
        # What Security Hub answers an account that has not enabled it.
        if error.response.get("Error", {}).get("Code") in (
            "InvalidAccessException",
            "ResourceNotFoundException",
        ):
            return False
        raise
    return True
