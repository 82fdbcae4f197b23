"""An in-memory fake of the three places that hold the origin header's value, and of what
CloudFront's edges send, for the rotation function's clients.

- The ALB listener rule (DescribeRules, ModifyRule): which header values it forwards, any of
  its http-header condition's values, compared case-insensitively with ``*`` and ``?`` as
  wildcards, as ELB does; at most 5 condition values, 128 characters each.
- The WAF rule group (GetRuleGroup, UpdateRuleGroup): which values its rule labels, by
  evaluating the rule's statement; a LockToken that changes at each update; its capacity.
- The CloudFront distribution (GetDistribution, GetDistributionConfig, UpdateDistribution):
  an ETag that changes at each update; an update leaves it InProgress for
  ``deploy_seconds`` of the fake clock, during which its edges may send the value of any
  configuration since the last Deployed one; then Deployed, they send the latest one's only.

Every request and every response is checked against botocore's model of the operation, so
a request the real API would refuse for its shape fails here too. After every write, and as
a deployment ends, ``check`` records a violation if some value the edges may send is not
forwarded by the listener rule or not labelled by the rule group. ``Writes`` counts the
function's writes, these and Secrets Manager's, and can make the function die right after
the n-th one took effect (``CrashError``)."""

from __future__ import annotations

import copy
import fnmatch
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from tests.functions.origin_header_rotation import edge_samples

_MODELS = botocore.session.get_session()
DEPLOYED, IN_PROGRESS = "Deployed", "InProgress"


class CrashError(Exception):
    """The function dies here (a timeout, the sandbox killed): after a write took effect."""


def _checked(service: str, operation: str, params: dict[str, Any], *, output: bool) -> None:
    model = _MODELS.get_service_model(service).operation_model(operation)
    shape = model.output_shape if output else model.input_shape
    validate_parameters(params, shape)


def _error(code: str, operation: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


@dataclass
class FakeClock:
    """The clock the function waits on; sleeping moves it and lets deployments end."""

    t: float = 0.0
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        for listener in self.listeners:
            listener()


@dataclass
class Writes:
    """The function's writes, in order, with the clock's time; ``crash_after`` = n makes the
    n-th write raise CrashError once it took effect (once: the retry goes on)."""

    clock: FakeClock
    made: list[tuple[float, str]] = field(default_factory=list)
    crash_after: int | None = None

    def done(self, operation: str) -> None:
        self.made.append((self.clock.now(), operation))
        if self.crash_after == len(self.made):
            self.crash_after = None
            raise CrashError(f"died right after write {len(self.made)}, {operation}")

    def names(self) -> list[str]:
        return [operation for _, operation in self.made]


class CountingSecrets:
    """A Secrets Manager client whose writes count in ``writes`` (and may crash)."""

    WRITES = ("put_secret_value", "update_secret_version_stage")

    def __init__(self, client: Any, writes: Writes) -> None:
        self._client = client
        self._writes = writes

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self.WRITES:
            return method

        def write(**params: Any) -> Any:
            result = method(**params)
            self._writes.done(name)
            return result

        return write


def _wcu(statement: dict[str, Any]) -> int:
    """WAF's capacity units of a statement: 2 for an exact byte match, 10 more per text
    transformation other than NONE; a logical statement costs its nested ones."""
    if "ByteMatchStatement" in statement:
        transforms = statement["ByteMatchStatement"]["TextTransformations"]
        return 2 + 10 * sum(1 for t in transforms if t["Type"] != "NONE")
    for logical in ("OrStatement", "AndStatement"):
        if logical in statement:
            return sum(_wcu(inner) for inner in statement[logical]["Statements"])
    return 1


def _matches(statement: dict[str, Any], header_value: str) -> bool:
    """Whether WAF's statement matches a request whose origin header has ``header_value``."""
    if "OrStatement" in statement:
        return any(_matches(s, header_value) for s in statement["OrStatement"]["Statements"])
    match = statement.get("ByteMatchStatement")
    if match is None:
        return False
    assert match["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}], match
    assert match["PositionalConstraint"] == "EXACTLY", match
    name = match["FieldToMatch"]["SingleHeader"]["Name"]
    search = match["SearchString"]
    search = search.encode() if isinstance(search, str) else bytes(search)
    return bool(
        name.lower() == edge_samples.HEADER_NAME.lower() and search == header_value.encode()
    )


class FakeEdge:
    """The listener rule, the rule group and the distribution, all holding ``value``."""

    def __init__(
        self, value: str, clock: FakeClock, writes: Writes, *, deploy_seconds: float = 240.0
    ) -> None:
        self.clock = clock
        self.writes = writes
        self.deploy_seconds = deploy_seconds
        self.rule = edge_samples.listener_rule([value])
        self.group = edge_samples.rule_group([value])
        self.lock_token = str(uuid.uuid4())
        self.config = edge_samples.distribution_config(value)
        self.etag = "E1"
        self.status = DEPLOYED
        self.deployed_at = 0.0
        self.sending = {value}
        self.calls: list[tuple[str, str]] = []
        self.violations: list[str] = []
        # Operations whose next call fails as if someone else changed the resource first.
        self.conflicts: dict[str, int] = {}
        clock.listeners.append(self._settle)
        self.elbv2 = FakeElbv2(self)
        self.wafv2 = FakeWafv2(self)
        self.cloudfront = FakeCloudFront(self)

    # --- What each place does with a value -------------------------------------------------

    def configured(self) -> str:
        """The value the distribution's latest configuration sends."""
        origin = next(o for o in self.config["Origins"]["Items"] if o["Id"] == "api")
        return str(origin["CustomHeaders"]["Items"][0]["HeaderValue"])

    def may_send(self) -> set[str]:
        """The values CloudFront's edges may send now."""
        self._settle()
        return set(self.sending)

    def alb_forwards(self, value: str) -> bool:
        """Whether the header condition takes ``value`` (the rule's other conditions are
        about the request, not the header)."""
        patterns = self.alb_values()
        return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)

    def waf_labels(self, value: str) -> bool:
        return any(
            _matches(rule["Statement"], value)
            for rule in self.group["Rules"]
            if {"Name": edge_samples.LABEL} in rule.get("RuleLabels", [])
        )

    def alb_values(self) -> list[str]:
        (condition,) = [c for c in self.rule["Conditions"] if c["Field"] == "http-header"]
        return list(condition["HttpHeaderConfig"]["Values"])

    def check(self, after: str) -> None:
        for value in self.may_send():
            if not self.alb_forwards(value):
                self.violations.append(f"after {after}: the ALB refuses a value CloudFront sends")
            if not self.waf_labels(value):
                self.violations.append(
                    f"after {after}: WAF does not label a value CloudFront sends"
                )

    def _settle(self) -> None:
        if self.status == IN_PROGRESS and self.clock.now() >= self.deployed_at:
            self.status = DEPLOYED
            self.sending = {self.configured()}
            self.check("the deployment")

    def record(self, service: str, operation: str) -> None:
        self.calls.append((service, operation))

    def conflict(self, operation: str) -> bool:
        if self.conflicts.get(operation, 0) > 0:
            self.conflicts[operation] -= 1
            return True
        return False

    def start_deployment(self) -> None:
        """An update made outside the function: InProgress, the value unchanged."""
        self.status = IN_PROGRESS
        self.deployed_at = self.clock.now() + self.deploy_seconds


class FakeElbv2:
    def __init__(self, edge: FakeEdge) -> None:
        self.edge = edge

    def describe_rules(self, **params: Any) -> dict[str, Any]:
        _checked("elbv2", "DescribeRules", params, output=False)
        self.edge.record("elbv2", "DescribeRules")
        if params.get("RuleArns") != [edge_samples.LISTENER_RULE_ARN]:
            raise _error("RuleNotFound", "DescribeRules")
        response = {"Rules": [copy.deepcopy(self.edge.rule)]}
        _checked("elbv2", "DescribeRules", response, output=True)
        return response

    def modify_rule(self, **params: Any) -> dict[str, Any]:
        _checked("elbv2", "ModifyRule", params, output=False)
        self.edge.record("elbv2", "ModifyRule")
        if params["RuleArn"] != edge_samples.LISTENER_RULE_ARN:
            raise _error("RuleNotFound", "ModifyRule")
        conditions = params.get("Conditions", self.edge.rule["Conditions"])
        values = [v for c in conditions for v in c.get("HttpHeaderConfig", {}).get("Values", [])]
        if len(values) > 5 or any(len(v) > 128 for v in values):
            raise _error("TooManyConditionValues", "ModifyRule")
        for condition in conditions:
            if "Values" in condition and any(k.endswith("Config") for k in condition):
                raise _error("ValidationError", "ModifyRule")
        self.edge.rule["Conditions"] = copy.deepcopy(conditions)
        self.edge.check("ModifyRule")
        self.edge.writes.done("ModifyRule")
        return {"Rules": [copy.deepcopy(self.edge.rule)]}


class FakeWafv2:
    def __init__(self, edge: FakeEdge) -> None:
        self.edge = edge

    def _identify(self, params: dict[str, Any], operation: str) -> None:
        group = self.edge.group
        if (params["Name"], params["Scope"], params["Id"]) != (
            group["Name"],
            "REGIONAL",
            group["Id"],
        ):
            raise _error("WAFNonexistentItemException", operation)

    def get_rule_group(self, **params: Any) -> dict[str, Any]:
        _checked("wafv2", "GetRuleGroup", params, output=False)
        self.edge.record("wafv2", "GetRuleGroup")
        self._identify(params, "GetRuleGroup")
        response = {"RuleGroup": copy.deepcopy(self.edge.group), "LockToken": self.edge.lock_token}
        _checked("wafv2", "GetRuleGroup", response, output=True)
        return response

    def update_rule_group(self, **params: Any) -> dict[str, Any]:
        _checked("wafv2", "UpdateRuleGroup", params, output=False)
        self.edge.record("wafv2", "UpdateRuleGroup")
        self._identify(params, "UpdateRuleGroup")
        if self.edge.conflict("UpdateRuleGroup"):
            self.edge.lock_token = str(uuid.uuid4())
        if params["LockToken"] != self.edge.lock_token:
            raise _error("WAFOptimisticLockException", "UpdateRuleGroup")
        rules = params.get("Rules", [])
        if sum(_wcu(rule["Statement"]) for rule in rules) > self.edge.group["Capacity"]:
            raise _error("WAFLimitsExceededException", "UpdateRuleGroup")
        group = self.edge.group
        group["Rules"] = copy.deepcopy(rules)
        for key in ("Description", "VisibilityConfig", "CustomResponseBodies"):
            if key in params:
                group[key] = copy.deepcopy(params[key])
            else:  # UpdateRuleGroup replaces every mutable setting
                group.pop(key, None)
        self.edge.lock_token = str(uuid.uuid4())
        self.edge.check("UpdateRuleGroup")
        self.edge.writes.done("UpdateRuleGroup")
        return {"NextLockToken": self.edge.lock_token}


class FakeCloudFront:
    def __init__(self, edge: FakeEdge) -> None:
        self.edge = edge

    def _identify(self, params: dict[str, Any], operation: str) -> None:
        if params["Id"] != edge_samples.DISTRIBUTION_ID:
            raise _error("NoSuchDistribution", operation)

    def _distribution(self) -> dict[str, Any]:
        self.edge._settle()
        config = copy.deepcopy(self.edge.config)
        return {
            "Distribution": edge_samples.distribution(config, self.edge.status),
            "ETag": self.edge.etag,
        }

    def get_distribution(self, **params: Any) -> dict[str, Any]:
        _checked("cloudfront", "GetDistribution", params, output=False)
        self.edge.record("cloudfront", "GetDistribution")
        self._identify(params, "GetDistribution")
        response = self._distribution()
        _checked("cloudfront", "GetDistribution", response, output=True)
        return response

    def get_distribution_config(self, **params: Any) -> dict[str, Any]:
        _checked("cloudfront", "GetDistributionConfig", params, output=False)
        self.edge.record("cloudfront", "GetDistributionConfig")
        self._identify(params, "GetDistributionConfig")
        response = {"DistributionConfig": copy.deepcopy(self.edge.config), "ETag": self.edge.etag}
        _checked("cloudfront", "GetDistributionConfig", response, output=True)
        return response

    def update_distribution(self, **params: Any) -> dict[str, Any]:
        _checked("cloudfront", "UpdateDistribution", params, output=False)
        self.edge.record("cloudfront", "UpdateDistribution")
        self._identify(params, "UpdateDistribution")
        edge = self.edge
        if edge.conflict("UpdateDistribution"):
            edge.etag = f"E{uuid.uuid4().hex[:8]}"
        if params.get("IfMatch") != edge.etag:
            raise _error("PreconditionFailed", "UpdateDistribution")
        edge.config = copy.deepcopy(params["DistributionConfig"])
        edge.etag = f"E{uuid.uuid4().hex[:8]}"
        edge.status = IN_PROGRESS
        edge.deployed_at = edge.clock.now() + edge.deploy_seconds
        edge.sending.add(edge.configured())
        edge.check("UpdateDistribution")
        edge.writes.done("UpdateDistribution")
        return self._distribution()
