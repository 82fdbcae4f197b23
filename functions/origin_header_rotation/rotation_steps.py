"""The four steps of a rotation (the handler's docstring says what each does, and why no
request CloudFront sends is refused at any point): ``STEPS``, by the name of the step."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import (
        cloudfront_origin,
        header_values,
        listener_rule,
        rotation_error,
        rotation_settings,
        waf_rule_group,
    )
else:
    import cloudfront_origin
    import header_values
    import listener_rule
    import rotation_error
    import rotation_settings
    import waf_rule_group

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: each change, and each found done, is logged

CURRENT, PENDING = header_values.CURRENT, header_values.PENDING
SENT = "sent by CloudFront"  # how the logs name the value CloudFront's configuration sends


@dataclass(frozen=True, kw_only=True)
class Rotation:
    """One invocation of one step: the clients, where the value sits, the version rotated to
    (``token``), the secret's versions and their stages as the step began, and how long the
    step may wait for CloudFront."""

    secrets: Any
    load_balancing: Any
    waf: Any
    cloudfront: Any
    settings: rotation_settings.Settings
    token: str
    stages: Mapping[str, Sequence[str]]
    wait: cloudfront_origin.DeployWait

    @property
    def arn(self) -> str:
        return self.settings.secret_arn


def _accept_only(
    rotation: Rotation, step: str, values: Sequence[str], known: Sequence[tuple[str, str]]
) -> None:
    """The listener rule, then the rule group, accept exactly ``values``; logged by name."""
    settings = rotation.settings
    shown = header_values.names(values, known)
    changed = listener_rule.accept_only(
        rotation.load_balancing, settings.listener_rule_arn, settings.header_name, values
    )
    LOG.info("%s: listener rule %s %s", step, "now accepts" if changed else "accepts", shown)
    changed = waf_rule_group.accept_only(rotation.waf, settings, values)
    LOG.info("%s: rule group %s %s", step, "now matches" if changed else "matches", shown)


def create_pending_value(rotation: Rotation) -> None:
    """Write the pending version's value, once."""
    header_values.read(rotation.secrets, rotation.arn, stage=CURRENT)  # there, and well-formed
    if header_values.pending_exists(rotation.secrets, rotation.arn, rotation.token):
        LOG.info("createSecret: version %s already has a value; keeping it", rotation.token)
        return
    try:
        rotation.secrets.put_secret_value(
            SecretId=rotation.arn,
            ClientRequestToken=rotation.token,
            SecretString=header_values.new_value(),
            VersionStages=[PENDING],
        )
    except (ClientError, BotoCoreError) as error:
        raise rotation_error.without_message(error, f"PutSecretValue on {rotation.arn}") from None
    LOG.info("createSecret: version %s has a new value, labelled %s", rotation.token, PENDING)


def set_pending_value(rotation: Rotation) -> None:
    """The listener rule and the rule group accept AWSCURRENT's value, AWSPENDING's and the
    one CloudFront sends; then CloudFront sends AWSPENDING's, deployed to every edge."""
    settings = rotation.settings
    current = header_values.read(rotation.secrets, rotation.arn, stage=CURRENT)
    pending = header_values.read(
        rotation.secrets, rotation.arn, stage=PENDING, version=rotation.token
    )
    distribution = f"distribution {settings.distribution_id}"
    # Deployed, every edge sends exactly the configuration's value: what else the rule and
    # the group accept (a value of a rotation given up on) can go.
    before = cloudfront_origin.wait_deployed(rotation.cloudfront, settings, rotation.wait)
    if not before.deployed:
        raise rotation_error.RotationError(
            f"setSecret: {distribution} is still {before.status} (a change not yet on every "
            "edge); nothing changed this time; Secrets Manager runs the rotation again later"
        )
    known = [(CURRENT, current), (SENT, before.sends), (PENDING, pending)]
    _accept_only(
        rotation, "setSecret", header_values.unique([current, before.sends, pending]), known
    )
    if cloudfront_origin.send(rotation.cloudfront, settings, pending):
        LOG.info("setSecret: %s now sends %s; waiting for it to deploy", distribution, PENDING)
    after = cloudfront_origin.wait_deployed(rotation.cloudfront, settings, rotation.wait)
    if not after.deployed:
        raise rotation_error.RotationError(
            f"setSecret: {distribution} is still {after.status}: its edges send either value "
            "meanwhile, and the listener rule and the rule group accept both; Secrets Manager "
            "runs the rotation again later, and this step waits again"
        )
    if after.sends != pending:
        raise rotation_error.RotationError(
            f"setSecret: {distribution} sends another value than {PENDING}: changed by "
            "something else than this rotation"
        )
    LOG.info("setSecret: %s is Deployed and sends %s", distribution, PENDING)


def verify_pending_value(rotation: Rotation) -> None:
    """CloudFront's deployed configuration sends AWSPENDING's value, and the listener rule and
    the rule group accept it. Read-only."""
    settings = rotation.settings
    pending = header_values.read(
        rotation.secrets, rotation.arn, stage=PENDING, version=rotation.token
    )
    state = cloudfront_origin.read(rotation.cloudfront, settings)
    problems = []
    if not state.deployed:
        problems.append(f"distribution {settings.distribution_id} is {state.status}")
    if state.sends != pending:
        problems.append(f"distribution {settings.distribution_id} does not send {PENDING}")
    accepted = listener_rule.accepted_values(
        rotation.load_balancing, settings.listener_rule_arn, settings.header_name
    )
    if pending not in accepted:
        problems.append(f"listener rule {settings.listener_rule_arn} does not accept {PENDING}")
    if pending not in waf_rule_group.accepted_values(rotation.waf, settings):
        problems.append(f"rule group {settings.rule_group_name} does not match {PENDING}")
    if problems:
        raise rotation_error.RotationError("testSecret: " + "; ".join(problems))
    LOG.info("testSecret: CloudFront sends %s, the ALB and its WAF accept it", PENDING)


def finish_rotation(rotation: Rotation) -> None:
    """Once CloudFront's deployed configuration sends version ``token``'s value: AWSCURRENT
    moves to that version, then the listener rule and the rule group accept that value only.
    Runs again in full when the version is AWSCURRENT already (a retry after a crash between
    the two), so the old value never stays accepted."""
    settings = rotation.settings
    new = header_values.read(rotation.secrets, rotation.arn, version=rotation.token)
    state = cloudfront_origin.read(rotation.cloudfront, settings)
    if not state.deployed or state.sends != new:
        raise rotation_error.RotationError(
            f"finishSecret: distribution {settings.distribution_id} is {state.status} and "
            f"{'sends' if state.sends == new else 'does not send'} the value of version "
            f"{rotation.token}; nothing moved and nothing dropped"
        )
    current = next((v for v, labels in rotation.stages.items() if CURRENT in labels), None)
    if current == rotation.token:
        LOG.info("finishSecret: version %s is already %s", rotation.token, CURRENT)
    else:
        move = {
            "SecretId": rotation.arn,
            "VersionStage": CURRENT,
            "MoveToVersionId": rotation.token,
        }
        if current is not None:
            move["RemoveFromVersionId"] = current
        rotation.secrets.update_secret_version_stage(**move)
        LOG.info("finishSecret: %s moved from version %s to %s", CURRENT, current, rotation.token)
    _accept_only(rotation, "finishSecret", [new], [(CURRENT, new)])


STEPS: dict[str, Callable[[Rotation], None]] = {
    "createSecret": create_pending_value,
    "setSecret": set_pending_value,
    "testSecret": verify_pending_value,
    "finishSecret": finish_rotation,
}
