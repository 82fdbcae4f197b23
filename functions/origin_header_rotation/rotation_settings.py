"""The function's settings: the environment variables the stack sets, checked before any step
(the README's "Environment" lists them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import rotation_error
else:
    import rotation_error

# Each variable, the form its value must have, and what that form is, for the error message.
# The messages never repeat a value (none is secret, but none needs repeating either).
FORMS: dict[str, tuple[re.Pattern[str], str]] = {
    "SECRET_ARN": (
        re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+"),
        "a Secrets Manager secret's ARN",
    ),
    "LISTENER_RULE_ARN": (
        re.compile(
            r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}"
            r":listener-rule/app/[\w-]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+"
        ),
        "an Application Load Balancer listener rule's ARN",
    ),
    "RULE_GROUP_NAME": (re.compile(r"[\w-]{1,128}"), "a WAF rule group's name"),
    "RULE_GROUP_ID": (
        re.compile(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"),
        "a WAF rule group's id (a UUID)",
    ),
    # The rule group of the ALB's web ACL; the WAF client is the function's region's.
    "RULE_GROUP_SCOPE": (re.compile(r"REGIONAL"), "REGIONAL"),
    "DISTRIBUTION_ID": (re.compile(r"[A-Z0-9]{1,32}"), "a CloudFront distribution's id"),
    "ORIGIN_ID": (re.compile(r"[^\s]{1,128}"), "the id of the distribution's /api origin"),
    # ALB listener rules take header names of at most 40 characters.
    "HEADER_NAME": (
        re.compile(r"[A-Za-z0-9-]{1,40}"),
        "an HTTP header name of at most 40 letters, digits and hyphens",
    ),
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where the header's value sits: the secret, and the three places that use it."""

    secret_arn: str
    listener_rule_arn: str
    rule_group_name: str
    rule_group_id: str
    rule_group_scope: str
    distribution_id: str
    origin_id: str
    header_name: str


def from_environment(environ: Mapping[str, str]) -> Settings:
    """The settings, or one RotationError that names every variable missing or malformed."""
    problems = []
    for name, (form, meaning) in FORMS.items():
        value = environ.get(name, "")
        if not value:
            problems.append(f"{name} is not set")
        elif not form.fullmatch(value):
            problems.append(f"{name} is not {meaning}")
    if problems:
        raise rotation_error.RotationError(
            "the function's environment is not as the stack sets it: " + "; ".join(problems)
        )
    return Settings(
        secret_arn=environ["SECRET_ARN"],
        listener_rule_arn=environ["LISTENER_RULE_ARN"],
        rule_group_name=environ["RULE_GROUP_NAME"],
        rule_group_id=environ["RULE_GROUP_ID"],
        rule_group_scope=environ["RULE_GROUP_SCOPE"],
        distribution_id=environ["DISTRIBUTION_ID"],
        origin_id=environ["ORIGIN_ID"],
        header_name=environ["HEADER_NAME"],
    )
