"""The header's values: a new one made, one read from a version of the secret and checked,
and the names the logs give them in place of the values themselves."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import rotation_error
else:
    import rotation_error

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
# As the stack's first value (payments_infra/components/edge/origin_header.py): lowercase
# letters and digits, since an ALB compares header values case-insensitively and reads * and
# ? as wildcards; 64 characters, about 330 bits.
ALPHABET = string.ascii_lowercase + string.digits
VALUE_LENGTH = 64
# What a value read back must be before it goes into a listener rule or a WAF statement: no
# wildcard, no case, at most the 128 characters a listener rule's value may have, and not
# short enough to guess.
VALUE_FORM = re.compile(r"[a-z0-9]{32,128}")
FORM_TEXT = "32 to 128 lowercase letters and digits"


def new_value() -> str:
    """A new value: 64 characters drawn with ``secrets.choice`` (the operating system's
    CSPRNG) from lowercase letters and digits. Not GetRandomPassword: that is one more call
    and one more IAM action (on ``*``, the only resource it takes), for the same alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(VALUE_LENGTH))


def checked(value: object, what: str) -> str:
    """``value`` if it has the form of a header value; RotationError naming ``what`` (never
    the value) otherwise."""
    if not isinstance(value, str) or not VALUE_FORM.fullmatch(value):
        raise rotation_error.RotationError(f"{what} is not {FORM_TEXT}")
    return value


def read(client: Any, arn: str, *, stage: str | None = None, version: str | None = None) -> str:
    """The value of the secret's version labelled ``stage`` and/or with id ``version``."""
    request = {"SecretId": arn}
    if stage is not None:
        request["VersionStage"] = stage
    if version is not None:
        request["VersionId"] = version
    response = client.get_secret_value(**request)
    label = " ".join(part for part in (stage, version) if part)
    return checked(response.get("SecretString"), f"the value of version {label} of {arn}")


def pending_exists(client: Any, arn: str, token: str) -> bool:
    """Whether version ``token`` labelled AWSPENDING has a value (a well-formed one: a value
    of another form is an error, not a reason to make a new one)."""
    try:
        read(client, arn, stage=PENDING, version=token)
    except ClientError as error:
        if rotation_error.error_code(error) != "ResourceNotFoundException":
            raise
        return False
    return True


def unique(values: Iterable[str]) -> list[str]:
    """``values`` in order, each once."""
    return list(dict.fromkeys(values))


def names(values: Iterable[str], known: Iterable[tuple[str, str]]) -> str:
    """The values as the logs show them: by the names ``known`` gives them (pairs of name and
    value; one value may have several names), ``another value`` otherwise. Never a value."""
    by_value: dict[str, list[str]] = {}
    for name, value in known:
        by_value.setdefault(value, []).append(name)
    shown = ["=".join(by_value.get(value, ["another value"])) for value in values]
    return ", ".join(shown) or "nothing"
