"""The ALB listener rule that forwards CloudFront's requests: the values its http-header
condition on the origin header accepts (any of them: ELB ORs a condition's values), read and
replaced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

# A sibling module: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import rotation_error
else:
    import rotation_error

HTTP_HEADER = "http-header"
# ELB's quota: 5 condition values per rule (not adjustable); a rotation uses at most 3.
MAX_VALUES = 5


def _conditions(client: Any, arn: str) -> list[dict[str, Any]]:
    rules = client.describe_rules(RuleArns=[arn]).get("Rules", [])
    if len(rules) != 1:
        raise rotation_error.RotationError(f"DescribeRules returned {len(rules)} rules for {arn}")
    return list(rules[0].get("Conditions", []))


def _header_condition(conditions: list[dict[str, Any]], arn: str, header_name: str) -> int:
    """The index of the rule's one http-header condition on ``header_name``."""
    found = [
        index
        for index, condition in enumerate(conditions)
        if condition.get("Field") == HTTP_HEADER
        and str(condition.get("HttpHeaderConfig", {}).get("HttpHeaderName", "")).lower()
        == header_name.lower()
    ]
    if len(found) != 1:
        raise rotation_error.RotationError(
            f"listener rule {arn} has {len(found)} {HTTP_HEADER} conditions on {header_name}, not 1"
        )
    return found[0]


def _writable(condition: dict[str, Any]) -> dict[str, Any]:
    """A condition as ModifyRule takes it back: DescribeRules shows host-header and
    path-pattern values twice (the old ``Values`` and the ``...Config``), ModifyRule takes
    one of the two."""
    if any(key.endswith("Config") for key in condition):
        return {key: value for key, value in condition.items() if key != "Values"}
    return dict(condition)


def accepted_values(client: Any, arn: str, header_name: str) -> list[str]:
    """The values the rule's condition on ``header_name`` accepts, as the rule has them."""
    conditions = _conditions(client, arn)
    config = conditions[_header_condition(conditions, arn, header_name)]["HttpHeaderConfig"]
    return [str(value) for value in config.get("Values", [])]


def accept_only(client: Any, arn: str, header_name: str, values: Sequence[str]) -> bool:
    """Make the condition on ``header_name`` accept exactly ``values`` (any of them), the
    rule's other conditions, its actions and its priority unchanged. True if it changed,
    False if it accepted exactly those already."""
    if not 1 <= len(values) <= MAX_VALUES:
        raise rotation_error.RotationError(
            f"a listener rule condition takes 1 to {MAX_VALUES} values, not {len(values)}"
        )
    conditions = _conditions(client, arn)
    index = _header_condition(conditions, arn, header_name)
    config = conditions[index]["HttpHeaderConfig"]
    if set(config.get("Values", [])) == set(values):
        return False
    written = [_writable(condition) for condition in conditions]
    written[index] = {"Field": HTTP_HEADER, "HttpHeaderConfig": {**config, "Values": list(values)}}
    try:
        client.modify_rule(RuleArn=arn, Conditions=written)
    except (ClientError, BotoCoreError) as error:
        raise rotation_error.without_message(error, f"ModifyRule on {arn}") from None
    return True
