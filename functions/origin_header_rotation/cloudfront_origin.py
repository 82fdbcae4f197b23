"""The CloudFront distribution's ``/api`` origin and the custom header it adds: the value it
sends, changed, and the wait for a change to reach every edge location.

UpdateDistribution returns at once with the distribution ``InProgress``; each edge location
takes the new configuration on its own, over minutes, and until the distribution is
``Deployed`` some edges send the old value and some the new. So the old value may be dropped
elsewhere only once the distribution is ``Deployed`` with the new one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import header_values, rotation_error, rotation_settings
else:
    import header_values
    import rotation_error
    import rotation_settings

DEPLOYED = "Deployed"
# UpdateDistribution fails with PreconditionFailed when the distribution changed since
# GetDistributionConfig (its ETag is not IfMatch's); read it again and retry, this many times.
ETAG_ATTEMPTS = 3


@dataclass(frozen=True)
class OriginState:
    """The distribution's status, and the value its latest configuration sends. Deployed,
    every edge sends that value; InProgress, some may still send one of before."""

    status: str
    sends: str

    @property
    def deployed(self) -> bool:
        return self.status == DEPLOYED


@dataclass(frozen=True)
class DeployWait:
    """How long an invocation may wait for a deployment: until ``deadline`` (on the clock
    ``now``), asking every ``poll_seconds``."""

    deadline: float
    poll_seconds: float
    now: Callable[[], float]
    sleep: Callable[[float], None]


def _header(config: dict[str, Any], settings: rotation_settings.Settings) -> dict[str, Any]:
    """The origin's one custom header named HEADER_NAME: the very item of ``config``, to read
    or change."""
    where = f"distribution {settings.distribution_id}"
    origins = [
        origin
        for origin in config.get("Origins", {}).get("Items", [])
        if origin.get("Id") == settings.origin_id
    ]
    if len(origins) != 1:
        raise rotation_error.RotationError(
            f"{where} has {len(origins)} origins with id {settings.origin_id}, not 1"
        )
    headers = [
        header
        for header in origins[0].get("CustomHeaders", {}).get("Items", [])
        if str(header.get("HeaderName", "")).lower() == settings.header_name.lower()
    ]
    if len(headers) != 1:
        raise rotation_error.RotationError(
            f"origin {settings.origin_id} of {where} has {len(headers)} custom headers named "
            f"{settings.header_name}, not 1"
        )
    header: dict[str, Any] = headers[0]
    return header


def read(client: Any, settings: rotation_settings.Settings) -> OriginState:
    """The distribution's status and the value its configuration sends (GetDistribution)."""
    distribution = client.get_distribution(Id=settings.distribution_id)["Distribution"]
    header = _header(distribution["DistributionConfig"], settings)
    sends = header_values.checked(
        header.get("HeaderValue"),
        f"the {settings.header_name} header of origin {settings.origin_id} of distribution "
        f"{settings.distribution_id}",
    )
    return OriginState(status=str(distribution["Status"]), sends=sends)


def send(client: Any, settings: rotation_settings.Settings, value: str) -> bool:
    """Make the origin's header carry ``value``, the rest of the configuration as it is
    (GetDistributionConfig, then UpdateDistribution with its ETag). True if it changed,
    False if the configuration sent ``value`` already. Returns before the change is
    deployed: ``wait_deployed`` waits for that."""
    attempt = 1
    while True:
        response = client.get_distribution_config(Id=settings.distribution_id)
        config = copy.deepcopy(response["DistributionConfig"])
        header = _header(config, settings)
        if header.get("HeaderValue") == value:
            return False
        header["HeaderValue"] = value
        call = f"UpdateDistribution on {settings.distribution_id}"
        try:
            client.update_distribution(
                Id=settings.distribution_id, IfMatch=response["ETag"], DistributionConfig=config
            )
        except ClientError as error:
            stale = rotation_error.error_code(error) == "PreconditionFailed"
            if stale and attempt < ETAG_ATTEMPTS:
                attempt += 1
                continue
            raise rotation_error.without_message(error, call) from None
        except BotoCoreError as error:
            raise rotation_error.without_message(error, call) from None
        return True


def wait_deployed(
    client: Any, settings: rotation_settings.Settings, wait: DeployWait
) -> OriginState:
    """The distribution's state once it is Deployed, or, if it is not by ``wait.deadline``,
    as it is then (the caller decides what an InProgress distribution means)."""
    while True:
        state = read(client, settings)
        if state.deployed or wait.now() + wait.poll_seconds > wait.deadline:
            return state
        wait.sleep(wait.poll_seconds)
