"""Creation-only settings: `make up` refuses to change one on a stack that has been deployed.

A creation-only setting (``Setting.creation_only``, marked in docs/settings.md) goes into
resource inputs that cannot change in place: a new value replaces the Aurora cluster, its
instances, the buckets or the subnets the database sits in. The program exports the values the
stack was built with as the ``creation_settings`` output (components/outputs.py); preflight,
for ``up``, reads it with ``pulumi stack output --json --stack <stack>`` and compares the stack
file's values, one sentence per difference. A stack that does not exist yet, or has never been
deployed, has nothing to compare.

``payments:availabilityZones`` unset means "look the zones up": its value is then the zones the
look-up chooses in this account now (zone_offers.planned_zones, the program's own choice), which
must still be the ones the stack was built in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from payments_infra import PROJECT
from payments_infra.config import SETTINGS, StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.config.setting import bound_values, creation_values
from payments_infra.config.settings import AVAILABILITY_ZONES
from payments_infra.offline.aws_access import aws_client
from payments_infra.offline.commands import Runner
from payments_infra.offline.commands import run as _command
from payments_infra.offline.stack_file import StackFileError, read_stack_config, stack_file_path


def _run_slow(command: list[str]) -> subprocess.CompletedProcess[str]:
    """``pulumi stack output`` reads the whole state, from S3 for a team: more time."""
    return _command(command, timeout=120)


OUTPUT = "creation_settings"  # components/outputs.py exports it
DOCS = "docs/deploy.md, Changing a deployed stack"
Zones = Callable[[], list[str] | None]


def _zones_now() -> list[str] | None:
    """The zones the program would look up in this account now; None when AWS cannot say
    (preflight's own zone checks name that)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from payments_infra.offline.zone_offers import planned_zones  # noqa: PLC0415

    try:
        zones, found = planned_zones(aws_client("ec2"), None)
    except (BotoCoreError, ClientError):
        return None
    return None if found else [zone.name for zone in zones]


def stack_outputs(
    stack: str, run: Runner = _run_slow, which: Callable[[str], str | None] = shutil.which
) -> tuple[dict[str, Any] | None, list[str]]:
    """(the deployed stack's outputs, or None when there is no stack or no CLI to ask; the
    problem that stops the check)."""
    pulumi = which("pulumi")
    if pulumi is None:
        return None, []  # preflight's CLI check names it
    try:
        result = run([pulumi, "stack", "output", "--json", "--stack", stack])
    except (OSError, subprocess.SubprocessError) as error:
        return None, [_unreadable(stack, type(error).__name__)]
    if result.returncode != 0:
        if f"no stack named '{stack}' found" in result.stderr:
            return None, []  # a first deploy: `make up` creates the stack after preflight
        detail = next(iter(result.stderr.strip().splitlines()), f"exit {result.returncode}")
        return None, [_unreadable(stack, detail)]
    try:
        outputs = json.loads(result.stdout or "{}")
    except ValueError:
        outputs = None
    if not isinstance(outputs, dict):
        return None, [_unreadable(stack, "its output is not a JSON object")]
    return outputs, []


def deployed_settings(
    stack: str, run: Runner = _run_slow, which: Callable[[str], str | None] = shutil.which
) -> tuple[dict[str, str] | None, list[str]]:
    """(the creation settings the deployed stack recorded, or None when there are none to
    compare; the problem that stops the check)."""
    outputs, found = stack_outputs(stack, run, which)
    if outputs is None:
        return None, found
    recorded = outputs.get(OUTPUT)
    if recorded is None:
        if outputs:  # deployed, by a program that did not export it yet
            print(
                f"preflight: stack {stack} was deployed before the {OUTPUT} output existed, "
                "so its creation-only settings cannot be compared this time (this `make up` "
                "records them; the preview gate still stops any replacement of data)"
            )
        return None, []
    if not isinstance(recorded, dict):
        return None, [_unreadable(stack, f"its {OUTPUT} output is not an object")]
    return {str(k): str(v) for k, v in recorded.items()}, []


def _unreadable(stack: str, detail: str) -> str:
    return (
        f"cannot read stack {stack}'s outputs (`pulumi stack output --json --stack {stack}`: "
        f"{detail}), so its creation-only settings cannot be compared with Pulumi.{stack}.yaml: "
        "fix that, then run again"
    )


def configured_settings(config: StackConfig, zones_now: Zones) -> dict[str, str]:
    """The stack file's creation-only values, the zones looked up when they are not pinned
    (left out when the look-up cannot say)."""
    values: dict[str, Any] = bound_values(config)
    unpinned = config.availability_zones is None
    looked_up = zones_now() if unpinned else None
    if unpinned:
        values[AVAILABILITY_ZONES.key] = tuple(looked_up or ())
    found = creation_values(SETTINGS, values)
    if unpinned and looked_up is None:
        del found[AVAILABILITY_ZONES.key]
    return found


def difference_problems(
    stack: str,
    deployed: Mapping[str, str],
    configured: Mapping[str, str],
    zones_pinned: bool = True,
) -> list[str]:
    """One sentence per creation-only setting whose value differs from the deployed one."""
    found = []
    for setting in SETTINGS:
        if setting.creation_only is None:
            continue
        key = setting.key
        if key not in deployed or key not in configured or deployed[key] == configured[key]:
            continue  # newly marked settings are recorded by the next up
        was, now = deployed[key], configured[key]
        if key == AVAILABILITY_ZONES.key and not zones_pinned:
            found.append(
                f"{key} is not set in Pulumi.{stack}.yaml, so the stack looks the zones up, and "
                f"in this account the look-up now chooses {now}, but stack {stack} was built in "
                f"{was} ({setting.creation_only.reason}): pin them with `pulumi config set "
                f"--stack {stack} {key} '{was}'`, then run again ({DOCS})"
            )
            continue
        found.append(
            f"{key} is {now} in Pulumi.{stack}.yaml, but stack {stack} was created with {was}, "
            f"and it is fixed once deployed ({setting.creation_only.reason}): set it back to "
            f"{was}; to change it, build a new stack with its own payments:environmentSuffix "
            f"and move the data there ({DOCS})"
        )
    return found


def problems(
    root: Path,
    stack: str,
    run: Runner = _run_slow,
    which: Callable[[str], str | None] = shutil.which,
    zones_now: Zones = _zones_now,
) -> list[str]:
    """What preflight says for ``up`` about the creation-only settings of a deployed stack."""
    try:
        config = StackConfig.from_mapping(
            read_stack_config(stack_file_path(root, stack)), project=PROJECT, stack=stack
        )
    except (ConfigError, StackFileError):
        return []  # preflight names a broken stack file or bad settings already
    deployed, found = deployed_settings(stack, run, which)
    if deployed is None:
        return found
    configured = configured_settings(config, zones_now)
    return difference_problems(
        stack, deployed, configured, zones_pinned=config.availability_zones is not None
    )
