"""Rotate the CloudFront origin header's value: a Secrets Manager rotation function for the
secret ``cloudfront-origin-header-{suffix}`` (its SecretString is the value alone).

CloudFront adds ``X-Origin-Verify: <value>`` to every request of its ``/api`` origin; the ALB
forwards only requests carrying an accepted value (a listener rule's http-header condition),
and the ALB's web ACL labels them (a rule group's ByteMatchStatement; the label exempts them
from the per-IP rate limit). Edge locations take a new distribution configuration over
minutes, so the rotation never has the ALB and its WAF accept fewer values than CloudFront
may send: each is widened before CloudFront moves, and narrowed only once CloudFront is
``Deployed`` with the new value. So no request CloudFront sends is refused, or loses its
label, at any point of a rotation; a step that fails or dies half way leaves a state where
that still holds, and runs again from where it stopped.

Secrets Manager runs a rotation as four invocations with the same ``ClientRequestToken`` (the
id of the new version of the secret) and one ``Step`` each:

1. ``createSecret``: a new value (64 lowercase letters and digits, ``secrets.choice``), written
   as version ``token`` labelled AWSPENDING, unless that version has a value already.
2. ``setSecret``: wait until the distribution is Deployed (so that its edges send exactly the
   value its configuration names); the listener rule and the rule group then accept exactly
   AWSCURRENT's value, AWSPENDING's and the one CloudFront sends (the same as AWSCURRENT's
   but after a rotation given up on half way); then CloudFront's ``/api`` origin sends
   AWSPENDING's value (UpdateDistribution with the ETag of GetDistributionConfig), and the
   step waits until the distribution is Deployed again. The wait is bounded (600 s, less if
   the invocation has less time left, by ``DEPLOY_WAIT_SECONDS`` and
   ``TIMEOUT_MARGIN_SECONDS``): still InProgress then, the step fails, Secrets Manager runs
   the rotation again later, and this step, finding its changes made, waits again.
3. ``testSecret``: the distribution is Deployed and sends AWSPENDING's value; the listener
   rule and the rule group accept it. Read-only.
4. ``finishSecret``: only if the distribution is Deployed and sends the value of version
   ``token``: AWSCURRENT moves to that version (Secrets Manager labels the one it leaves
   AWSPREVIOUS), then the listener rule and the rule group accept that value only.

Every step may run again and does nothing the second time: the pending value is made once;
a listener rule, rule group or distribution that has what a step would write is not written;
finishing a finished rotation moves nothing. Before any step: the event's SecretId must be
SECRET_ARN, rotation must be enabled on the secret, and ``token`` must be one of its versions
labelled AWSPENDING. A token labelled AWSCURRENT means the rotation is over: every step but
``finishSecret`` returns at once; ``finishSecret`` runs again, so that a crash between moving
AWSCURRENT and narrowing the rule and the group is made good by the retry.

Logged: the step, the secret's ARN, the version ids, what each of the three places accepts
or sends, by stage name (``AWSCURRENT``, ``AWSPENDING``, ``sent by CloudFront``), never a
value; an AWS error on a request that carried a value is reported by its code only, since
its message may quote the request. botocore's wire logs stay off.

The parts are sibling modules: rotation_steps (the four steps), header_values (the value
made, read and checked), listener_rule, waf_rule_group, cloudfront_origin (the three places),
rotation_settings (the environment) and rotation_error. This module is the entry point: the
checks before any step, and the clients.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import (
        cloudfront_origin,
        header_values,
        rotation_error,
        rotation_settings,
        rotation_steps,
    )
else:
    import cloudfront_origin
    import header_values
    import rotation_error
    import rotation_settings
    import rotation_steps

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)
# At DEBUG, botocore logs request and response bodies, header values included: never here.
for _library in ("boto3", "botocore", "urllib3"):
    logging.getLogger(_library).setLevel(logging.WARNING)

FINISH = "finishSecret"
# How long an invocation may wait for CloudFront to deploy: at most this, and never past the
# function's timeout less the margin (left for the calls after the wait, and the error).
DEPLOY_WAIT_SECONDS = 600.0
TIMEOUT_MARGIN_SECONDS = 60.0
POLL_SECONDS = 20.0

_CLIENTS: dict[str, Any] = {}


@dataclass(frozen=True)
class Clock:
    """The clock the deployment waits read and sleep on (the tests' is a fake one)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


CLOCK = Clock()


def client(service: str) -> Any:
    """A client of ``service`` ("secretsmanager", "elbv2", "wafv2" or "cloudfront"), created
    on first use, not at import."""
    if service not in _CLIENTS:
        _CLIENTS[service] = boto3.client(service)
    return _CLIENTS[service]


def handler(event: dict[str, Any], context: object) -> None:
    """Lambda entry point: one step of a rotation, as Secrets Manager invokes it."""
    settings = rotation_settings.from_environment(os.environ)
    arn, token, step = _event_fields(event)
    if arn != settings.secret_arn:
        raise rotation_error.RotationError(
            f"this function rotates {settings.secret_arn} (SECRET_ARN) only; refusing {arn}"
        )
    run_step = rotation_steps.STEPS.get(step)
    if run_step is None:
        raise rotation_error.RotationError(f"unknown rotation step {step!r}")
    secrets = client("secretsmanager")
    stages = version_stages(secrets, arn, token)
    if header_values.CURRENT in stages[token] and step != FINISH:
        LOG.info("%s: version %s of %s is already AWSCURRENT; nothing to do", step, token, arn)
        return
    LOG.info("%s: starting for version %s of %s", step, token, arn)
    run_step(
        rotation_steps.Rotation(
            secrets=secrets,
            load_balancing=client("elbv2"),
            waf=client("wafv2"),
            cloudfront=client("cloudfront"),
            settings=settings,
            token=token,
            stages=stages,
            wait=deploy_wait(context),
        )
    )
    LOG.info("%s: done for version %s of %s", step, token, arn)


def _event_fields(event: object) -> tuple[str, str, str]:
    fields = ("SecretId", "ClientRequestToken", "Step")
    if not isinstance(event, dict) or not all(isinstance(event.get(f), str) for f in fields):
        raise rotation_error.RotationError(f"the event lacks one of {', '.join(fields)}")
    return event["SecretId"], event["ClientRequestToken"], event["Step"]


def version_stages(secrets: Any, arn: str, token: str) -> dict[str, list[str]]:
    """The secret's versions and their stages (DescribeSecret), once checked that rotation is
    enabled and that ``token`` is a version labelled AWSPENDING or AWSCURRENT (AWS's checks
    before any step)."""
    metadata = secrets.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise rotation_error.RotationError(f"rotation is not enabled on {arn}")
    stages = {v: list(labels) for v, labels in metadata.get("VersionIdsToStages", {}).items()}
    if token not in stages:
        raise rotation_error.RotationError(f"version {token} is not a version of {arn}")
    if not {header_values.CURRENT, header_values.PENDING} & set(stages[token]):
        raise rotation_error.RotationError(
            f"version {token} of {arn} is not labelled {header_values.PENDING}"
        )
    return stages


def deploy_wait(context: object) -> cloudfront_origin.DeployWait:
    """How long this invocation may wait for a deployment: DEPLOY_WAIT_SECONDS, or less when
    the function's remaining time (Lambda's context) less TIMEOUT_MARGIN_SECONDS is less."""
    seconds = DEPLOY_WAIT_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        seconds = min(seconds, float(remaining()) / 1000 - TIMEOUT_MARGIN_SECONDS)
    return cloudfront_origin.DeployWait(
        deadline=CLOCK.now() + max(seconds, 0.0),
        poll_seconds=POLL_SECONDS,
        now=CLOCK.now,
        sleep=CLOCK.sleep,
    )
