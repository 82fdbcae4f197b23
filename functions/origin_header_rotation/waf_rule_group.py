"""The WAF rule group that labels CloudFront's requests (the ALB's web ACL exempts them from
its per-IP rate limit): the values its rule on the origin header matches, read and replaced.

The stack writes the rule's statement as one ByteMatchStatement (EXACTLY, the header as a
SingleHeader, text transformation NONE). To match several values the statement becomes an
OrStatement of ByteMatchStatements, each the same but for its SearchString; back to one value,
it is one ByteMatchStatement again, as the stack wrote it. Each costs 2 WCU; the group's
fixed capacity (10) holds the 3 a rotation may use at most."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import rotation_error, rotation_settings
else:
    import rotation_error
    import rotation_settings

BYTE_MATCH, OR = "ByteMatchStatement", "OrStatement"
# UpdateRuleGroup fails with WAFOptimisticLockException when the group changed since
# GetRuleGroup; read it again and retry, this many times in all.
LOCK_ATTEMPTS = 3
# What UpdateRuleGroup replaces besides the rules: sent back as GetRuleGroup returned them, or
# WAF would clear them (UpdateRuleGroup replaces every mutable setting of the group).
KEPT = ("Description", "CustomResponseBodies", "MonetizationConfig")


@dataclass(frozen=True)
class HeaderMatch:
    """The group's rule on the header: its index, its ByteMatchStatement without the
    SearchString (the same for every value), and the values it matches."""

    index: int
    template: dict[str, Any]
    values: list[str]


def _text(search_string: object) -> str:
    # A blob: boto3 returns bytes.
    if isinstance(search_string, bytes | bytearray):
        return bytes(search_string).decode("ascii", errors="replace")
    return str(search_string)


def _byte_matches(statement: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The statement's ByteMatchStatements, if it is one, or an OR of them; else None."""
    if set(statement) == {BYTE_MATCH}:
        return [statement[BYTE_MATCH]]
    if set(statement) == {OR}:
        nested = statement[OR].get("Statements", [])
        if nested and all(set(inner) == {BYTE_MATCH} for inner in nested):
            return [inner[BYTE_MATCH] for inner in nested]
    return None


def _on_header(match: dict[str, Any], header_name: str) -> bool:
    field = match.get("FieldToMatch", {})
    return (
        set(field) == {"SingleHeader"}
        and str(field["SingleHeader"].get("Name", "")).lower() == header_name.lower()
    )


def header_match(rules: list[dict[str, Any]], header_name: str, label: str) -> HeaderMatch:
    """The one rule of ``rules`` whose statement matches ``header_name`` by value."""
    found = []
    for index, rule in enumerate(rules):
        matches = _byte_matches(rule.get("Statement", {}))
        if matches and all(_on_header(match, header_name) for match in matches):
            found.append((index, matches))
    if len(found) != 1:
        raise rotation_error.RotationError(
            f"{label} has {len(found)} rules matching the {header_name} header by "
            f"{BYTE_MATCH}, not 1"
        )
    index, matches = found[0]
    templates = [{k: v for k, v in match.items() if k != "SearchString"} for match in matches]
    if any(template != templates[0] for template in templates):
        raise rotation_error.RotationError(
            f"the {BYTE_MATCH}s of rule {rules[index].get('Name')} of {label} differ in more "
            "than their search strings"
        )
    return HeaderMatch(index, templates[0], [_text(m.get("SearchString")) for m in matches])


def statement(template: dict[str, Any], values: Sequence[str]) -> dict[str, Any]:
    """The rule's statement matching any of ``values``: one ByteMatchStatement per value,
    each ``template`` with the value as its SearchString; an OrStatement of them for two or
    more."""
    matches = [{BYTE_MATCH: {"SearchString": v.encode("ascii"), **template}} for v in values]
    return matches[0] if len(matches) == 1 else {OR: {"Statements": matches}}


def _label(settings: rotation_settings.Settings) -> str:
    return f"rule group {settings.rule_group_name} ({settings.rule_group_scope})"


def _get(client: Any, settings: rotation_settings.Settings) -> dict[str, Any]:
    return dict(
        client.get_rule_group(
            Name=settings.rule_group_name,
            Scope=settings.rule_group_scope,
            Id=settings.rule_group_id,
        )
    )


def accepted_values(client: Any, settings: rotation_settings.Settings) -> list[str]:
    """The values the group's rule on the header matches."""
    rules = _get(client, settings)["RuleGroup"].get("Rules", [])
    return header_match(rules, settings.header_name, _label(settings)).values


def accept_only(client: Any, settings: rotation_settings.Settings, values: Sequence[str]) -> bool:
    """Make the group's rule on the header match exactly ``values`` (any of them), with the
    same field, positional constraint and text transformations; every other part of the
    group as it is. True if it changed, False if it matched exactly those already."""
    if not values:
        raise rotation_error.RotationError("a rule group's header rule needs a value")
    attempt = 1
    while True:
        response = _get(client, settings)
        group = response["RuleGroup"]
        rules = copy.deepcopy(list(group.get("Rules", [])))
        match = header_match(rules, settings.header_name, _label(settings))
        if set(match.values) == set(values):
            return False
        rules[match.index]["Statement"] = statement(match.template, values)
        request = {
            "Name": settings.rule_group_name,
            "Scope": settings.rule_group_scope,
            "Id": settings.rule_group_id,
            "Rules": rules,
            "VisibilityConfig": group["VisibilityConfig"],
            "LockToken": response["LockToken"],
        }
        request.update({key: group[key] for key in KEPT if key in group})
        try:
            client.update_rule_group(**request)
        except ClientError as error:
            locked = rotation_error.error_code(error) == "WAFOptimisticLockException"
            if locked and attempt < LOCK_ATTEMPTS:
                attempt += 1
                continue
            failed = rotation_error.without_message(error, f"UpdateRuleGroup on {_label(settings)}")
            raise failed from None
        except BotoCoreError as error:
            failed = rotation_error.without_message(error, f"UpdateRuleGroup on {_label(settings)}")
            raise failed from None
        return True
