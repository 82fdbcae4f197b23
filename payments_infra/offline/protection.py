"""`make down` on a protected stack: refused, with the steps that keep the data and lift it.

With ``payments:protectData`` (components/database/database.py) the stack's Aurora cluster has RDS
deletion protection and Pulumi's ``protect``, as do its KMS key and the database secret, so
``pulumi destroy`` would stop in its preview on the first of them. Preflight stops it before
that, reading the setting from the stack file as the rest of preflight does, and says what to
run instead: keep the data under a key the stack does not own (keep_data.py), turn the setting
off and commit the stack file, ``make up`` (which lifts every protection: Pulumi's ``protect``
goes with an ``up`` whose program no longer sets it, RDS deletion protection with the
ModifyDBCluster it makes), then ``make down``.

The stack file is what preflight can read offline; it may say false while the deployed stack
is still protected (the setting turned off without the ``make up``). Then the destroy stops in
Pulumi's preview on the protected resources and nothing is deleted (docs/deploy.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from payments_infra.config.database_settings import PROTECT_DATA

DOCS = "docs/deploy.md#protecting-the-data"


def config_text(value: Any) -> str:
    """A stack file's value as Pulumi hands it to the program (stack_file.read_stack_config)."""
    return value if isinstance(value, str) else json.dumps(value)


def refusal(stack: str) -> str:
    """The one sentence `make down` prints for a protected stack."""
    return (
        f"Pulumi.{stack}.yaml sets {PROTECT_DATA.key} to true, so `make down` refuses to "
        f"destroy the database with its backups: to destroy it, keep the data first with "
        f"`make keep-data STACK={stack} KEY_ARN=<a KMS key the stack does not "
        f"own>` (or skip that to lose it), then run `pulumi config set --stack {stack} "
        f"{PROTECT_DATA.key} false`, commit Pulumi.{stack}.yaml (`make up` deploys commits "
        f"only), `make up STACK={stack}` (which lifts the protection) and "
        f"`make down STACK={stack}` ({DOCS})"
    )


def read_protect_data(config: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """``payments:protectData`` of a stack file's config section, read by the setting's own
    parser: (the value, the problems). Unset is the default, false."""
    raw = config.get(PROTECT_DATA.key) if isinstance(config, Mapping) else None
    if raw is None:
        return False, []
    return PROTECT_DATA.read({PROTECT_DATA.key: config_text(raw)})


def protects_data(config: Mapping[str, Any]) -> bool:
    """Whether a guard treats the stack as protected: a value the setting cannot read counts
    as protected, the safe side (the program refuses such a value anyway)."""
    protected, found = read_protect_data(config)
    return protected or bool(found)


def protected_data_problems(document: Mapping[str, Any], stack: str, command: str) -> list[str]:
    """For `make down` only: the refusal when the stack file protects the data."""
    if command != "down":
        return []
    protected, found = read_protect_data(document.get("config") or {})
    if found:
        return [
            f"Pulumi.{stack}.yaml: {found[0]}, so `make down` cannot tell whether the "
            f"database is protected: set it to true or false ({DOCS}), then run again"
        ]
    return [refusal(stack)] if protected else []
