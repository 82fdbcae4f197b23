"""Every input of the graph against the AWS API's own rules, offline.

The Terraform provider under pulumi-aws checks far less than AWS does: a WAF description with
a parenthesis passes the provider and ``pulumi preview``, and ``CreateWebACL`` then refuses it,
halfway through the first deploy. botocore's service models (installed with boto3) hold every
request member's pattern, length, range, enum and list size, as tflint-ruleset-aws and cfn-lint
use them. This module finds, for each resource of the graph, the API call that creates it
(``api_calls.py``, a reviewed table), walks the resource's inputs beside that call's input
shape, nested blocks included, and reports each value AWS would refuse.

Inputs meet members by normalised name (``cidrBlock`` ~ ``CidrBlock``, ``rule`` ~ ``Rules``,
``name`` ~ ``RoleName`` when it is the only member so ending); the table's overrides carry the
rest. Three shape differences are bridged generically: a tag map meets a list of Key/Value
pairs, a JSON string meets the structure it encodes (container definitions), and a list meets
CloudFront's ``{Quantity, Items}`` wrapper. Values AWS computes at deploy time (the mocks'
placeholder ids and ARNs) are not checked, and counted apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
import regex

from payments_infra.offline.api_call import ApiCall
from payments_infra.offline.api_calls import API_CALLS, NOT_API_CALLS
from payments_infra.offline.aws_patterns import aws_pattern
from payments_infra.offline.checks_conventions import effective_tags, is_taggable
from payments_infra.offline.graph import Graph, Resource, SecretValue


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> Any:
    return _service_model(service).operation_model(operation).input_shape


@dataclass(frozen=True)
class Violation:
    resource: Resource
    input_path: str
    value: Any
    rule: str
    api_member: str

    def hiding_value(self) -> Violation:
        """The same violation, its value shown as [secret] (a Pulumi secret's part)."""
        return Violation(self.resource, self.input_path, _SECRET, self.rule, self.api_member)

    def __str__(self) -> str:
        shown = "[secret]" if self.value is _SECRET else _short(self.value)
        return (
            f"{self.resource.name} ({self.resource.type}): {self.input_path} = {shown} "
            f"breaks {self.api_member}: {self.rule}"
        )


_SECRET = object()


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 90 else f"{text[:87]}..."


@dataclass
class Coverage:
    """What the walk reached: types mapped, and input values checked against a member."""

    types_in_graph: set[str] = field(default_factory=set)
    types_mapped: set[str] = field(default_factory=set)
    unmapped: dict[str, str] = field(default_factory=dict)  # type -> reason
    inputs: int = 0
    checked: int = 0
    computed: int = 0
    no_rule: int = 0
    unchecked: dict[str, set[str]] = field(default_factory=dict)  # type -> input paths

    def line(self) -> str:
        return (
            f"{len(self.types_mapped)}/{len(self.types_in_graph)} AWS resource types mapped to "
            f"their API call; {self.checked}/{self.inputs} input values checked against the "
            f"API model; {self.computed} are computed by AWS at deploy time, {self.no_rule} have "
            "no API rule (reviewed in api_calls.py)"
        )


@dataclass
class ApiModelReport:
    violations: list[Violation]
    coverage: Coverage


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _member_for(key: str, shape: Any) -> tuple[str, Any] | None:
    """The structure member an input key stands for, by normalised name; None: no such one."""
    members = shape.members
    wanted = _norm(key)
    by_norm = {_norm(name): name for name in members}
    singular = f"{wanted[:-3]}y" if wanted.endswith("ies") else wanted.removesuffix("s")
    plural_of_y = f"{wanted[:-1]}ies" if wanted.endswith("y") else wanted
    for candidate in (wanted, f"{wanted}s", f"{wanted}es", singular, plural_of_y):
        if candidate in by_norm:
            return by_norm[candidate], members[by_norm[candidate]]
    # "name" ~ "RoleName", "identifier" ~ "DBInstanceIdentifier": when only one member ends so.
    ending = [name for norm, name in by_norm.items() if norm.endswith(wanted)]
    if len(ending) == 1:
        return ending[0], members[ending[0]]
    return None


def _resolve(shape: Any, path: str) -> Any:
    """The shape at a dotted member path, stepping into list members on the way."""
    for part in path.split("."):
        while shape.type_name == "list":
            shape = shape.member
        shape = shape.members[part]
    return shape


class _Walk:
    """One resource's inputs walked beside its API call's input shapes."""

    def __init__(self, resource: Resource, call: ApiCall, computed: regex.Pattern[str]) -> None:
        self.resource = resource
        self.call = call
        self.computed_pattern = computed
        self.violations: list[Violation] = []
        self.inputs = self.checked = self.computed = self.no_rule = 0
        self.unchecked: set[str] = set()

    def run(self, tags: dict[str, str] | None) -> None:
        """Walk the inputs; ``tags``: what AWS stores, the provider's default tags included."""
        inputs = self.resource.inputs if tags is None else {**self.resource.inputs, "tags": tags}
        self._block("", inputs, None, "", counted=True)

    # Where an input goes: the table's override first, then the member of that name.
    def _target(self, path: str, parent: Any) -> tuple[str, Any] | _NoRule | None:
        generic = _generic(path)
        if generic in self.call.members:
            target = self.call.members[generic]
            if target is None:
                return _NO_RULE
            operation, _, member_path = target.rpartition(":")
            operation = operation or self.call.operations[0]
            shape = _resolve(input_shape(self.call.service, operation), member_path)
            return f"{operation} {member_path}", shape
        if parent is not None:
            return _member_for(path.rsplit(".", 1)[-1], parent)
        for operation in self.call.operations:  # a top-level input: each call in turn
            root = self.call.roots.get(operation, "")
            shape = input_shape(self.call.service, operation)
            found = _member_for(path, _resolve(shape, root) if root else shape)
            if found:
                return f"{operation} {root + '.' if root else ''}{found[0]}", found[1]
        return None

    def _block(
        self, path: str, value: dict[str, Any], shape: Any, member: str, *, counted: bool
    ) -> None:
        for key, item in value.items():
            item_path = f"{path}.{key}" if path else key
            target = self._target(item_path, shape)
            if isinstance(target, _NoRule):
                self._uncheckable(item_path, item, counted, reviewed=True)
            elif target is None:
                if isinstance(item, dict) and self._overrides_below(item_path):
                    self._block(item_path, item, None, item_path, counted=counted)
                else:
                    self._uncheckable(item_path, item, counted, reviewed=False)
            else:
                name, item_shape = target
                where = name if not member or " " in name else f"{member}.{name}"
                self._value(item_path, item, item_shape, where, counted=counted)

    def _overrides_below(self, path: str) -> bool:
        prefix = f"{_generic(path)}."
        return any(key.startswith(prefix) for key in self.call.members)

    def _uncheckable(self, path: str, value: Any, counted: bool, *, reviewed: bool) -> None:
        if not counted:
            return
        for leaf_path, leaf in _leaves(path, value):
            self.inputs += 1
            if self._is_computed(leaf):
                self.computed += 1
            elif reviewed:
                self.no_rule += 1
            else:
                self.unchecked.add(_generic(leaf_path))

    def _is_computed(self, value: Any) -> bool:
        return isinstance(value, str) and self.computed_pattern.search(value) is not None

    def _count(self, counted: bool, value: Any) -> None:
        if counted:
            self.inputs += 1
            if self._is_computed(value):
                self.computed += 1
            else:
                self.checked += 1

    def _value(self, path: str, value: Any, shape: Any, member: str, *, counted: bool) -> None:
        if isinstance(value, SecretValue):
            before = len(self.violations)
            self._value(path, value.value, shape, member, counted=counted)
            self.violations[before:] = [v.hiding_value() for v in self.violations[before:]]
            return
        kind = shape.type_name
        if isinstance(value, str) and kind in ("structure", "list", "map"):
            try:  # a JSON document where the API takes the structure (container definitions)
                value = json.loads(value)
            except ValueError:
                self._uncheckable(path, value, counted, reviewed=False)
                return
            self._count(counted, value)
            counted = False  # a document counts once, as recorded
        if kind == "structure":
            self._structure(path, value, shape, member, counted=counted)
        elif kind == "list":
            self._list(path, value, shape, member, counted=counted)
        elif kind == "map":
            self._map(path, value, shape, member, counted=counted)
        elif _is_scalar(value):
            self._count(counted, value)
            if not self._is_computed(value):
                for rule in _scalar_rules(value, shape):
                    self.violations.append(Violation(self.resource, path, value, rule, member))
        else:  # a block where the API takes one value: not comparable
            self._uncheckable(path, value, counted, reviewed=False)

    def _structure(self, path: str, value: Any, shape: Any, member: str, *, counted: bool) -> None:
        if isinstance(value, list) and "Items" in shape.members:  # CloudFront's {Quantity, Items}
            self._value(path, value, shape.members["Items"], f"{member}.Items", counted=counted)
        elif isinstance(value, list) and len(value) == 1:  # a one-block list: the block
            self._value(f"{path}[0]", value[0], shape, member, counted=counted)
        elif _is_scalar(value) and set(shape.members) == {"Value"}:  # EC2's {Value: ...}
            self._value(path, value, shape.members["Value"], f"{member}.Value", counted=counted)
        elif isinstance(value, dict):
            self._block(path, value, shape, member, counted=counted)
        else:
            self._uncheckable(path, value, counted, reviewed=False)

    def _list(self, path: str, value: Any, shape: Any, member: str, *, counted: bool) -> None:
        pair = _pair_members(shape)
        if isinstance(value, dict) and pair:  # a tag or dimension map: key/value pairs in AWS
            self._size(path, value, shape, member, "items")
            key_shape, value_shape = (shape.member.members[name] for name in pair)
            for key, item in value.items():
                self._value(f"{path} key", key, key_shape, f"{member}.{pair[0]}", counted=False)
                self._value(
                    f"{path}.{key}", item, value_shape, f"{member}.{pair[1]}", counted=counted
                )
            return
        if isinstance(value, dict):  # one block where the API takes a list of them
            value = [value]
        if not isinstance(value, list):
            self._uncheckable(path, value, counted, reviewed=False)
            return
        self._size(path, value, shape, member, "items")
        for index, item in enumerate(value):
            self._value(f"{path}[{index}]", item, shape.member, member, counted=counted)

    def _map(self, path: str, value: Any, shape: Any, member: str, *, counted: bool) -> None:
        if not isinstance(value, dict):
            self._uncheckable(path, value, counted, reviewed=False)
            return
        self._size(path, value, shape, member, "entries")
        for key, item in value.items():
            self._value(f"{path} key", key, shape.key, f"{member} key", counted=False)
            self._value(f"{path}.{key}", item, shape.value, f"{member}.value", counted=counted)

    def _size(self, path: str, value: Any, shape: Any, member: str, unit: str) -> None:
        meta = shape.metadata
        if _outside(len(value), meta):
            rule = f"{meta.get('min', 0)} to {meta.get('max', 'any')} {unit} (has {len(value)})"
            self.violations.append(Violation(self.resource, path, value, rule, member))


class _NoRule:
    """The table says this input has nothing in the API model to be checked against."""


_NO_RULE = _NoRule()


def _scalar_rules(value: Any, shape: Any) -> Iterator[str]:
    """The rules of the API model that this one value breaks."""
    kind, meta = shape.type_name, shape.metadata
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            yield f"one of {sorted(shape.enum)}"
        if _outside(len(value), meta):
            yield f"length {meta.get('min', 0)} to {meta.get('max', 'any')} (is {len(value)})"
        if "pattern" in meta and not aws_pattern(meta["pattern"]).search(value):
            yield f"pattern {meta['pattern']}"
    elif kind in ("integer", "long", "double", "float") and isinstance(value, int | float):
        if not isinstance(value, bool) and _outside(value, meta):
            yield f"range {meta.get('min', '-inf')} to {meta.get('max', 'inf')}"
        if kind in ("integer", "long") and isinstance(value, float) and not value.is_integer():
            yield "a whole number"


def _outside(number: float, meta: dict[str, Any]) -> bool:
    """Whether a number (a value, a length, a count) falls outside the model's min and max."""
    return ("min" in meta and number < meta["min"]) or ("max" in meta and number > meta["max"])


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _pair_members(shape: Any) -> tuple[str, str] | None:
    """The key and value member names when a list holds key/value pairs (tags, dimensions)."""
    member = shape.member
    if member.type_name != "structure" or len(member.members) != 2:
        return None
    names = {_norm(name): name for name in member.members}
    key = next((names[n] for n in ("key", "tagkey", "name") if n in names), None)
    value = next((names[n] for n in ("value", "tagvalue") if n in names), None)
    return (key, value) if key and value else None


def _leaves(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, SecretValue):
        yield from _leaves(path, value.value)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(f"{path}.{key}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(f"{path}[{index}]", item)
    elif value is not None:
        yield path, value


def _generic(path: str) -> str:
    """An input path without list indices: ``rules[0].name`` -> ``rules.name``."""
    return regex.sub(r"\[\d+\]", "", path)


def check_api_model(graph: Graph) -> ApiModelReport:
    """Walk every AWS resource of the graph beside its API call; report what AWS refuses."""
    # A value holding a mock's placeholder id or ARN is AWS's to compute at deploy time.
    ids = sorted({r.id for r in graph if r.custom and r.id} | {"placeholder"}, key=len)
    computed = regex.compile("|".join(regex.escape(i) for i in reversed(ids)))
    coverage = Coverage()
    violations: list[Violation] = []
    for resource in graph:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            continue
        coverage.types_in_graph.add(resource.type)
        call = API_CALLS.get(resource.type)
        if call is None:
            coverage.unmapped[resource.type] = NOT_API_CALLS.get(
                resource.type, "NOT REVIEWED: add it to api_calls.py"
            )
            continue
        coverage.types_mapped.add(resource.type)
        walk = _Walk(resource, call, computed)
        walk.run(effective_tags(graph, resource) if is_taggable(resource.type) else None)
        violations += walk.violations
        coverage.inputs += walk.inputs
        coverage.checked += walk.checked
        coverage.computed += walk.computed
        coverage.no_rule += walk.no_rule
        coverage.unchecked.setdefault(resource.type, set()).update(walk.unchecked)
    return ApiModelReport(violations, coverage)


def check_api_rules(graph: Graph, report: ApiModelReport | None = None) -> list[str]:
    """The graph-wide check: one sentence per value AWS would refuse, and per unreviewed type.
    ``report``: the graph's ``check_api_model``, when the caller has it already."""
    report = report or check_api_model(graph)
    unreviewed = [
        f"{type_} is not mapped to an AWS API call and has no reviewed reason (api_calls.py)"
        for type_, reason in sorted(report.coverage.unmapped.items())
        if reason.startswith("NOT REVIEWED")
    ]
    return [*unreviewed, *(str(v) for v in report.violations)]
