"""Graph-wide checks of the edge: no way to the API around a WAF (PCI DSS 6.4.1, 6.4.2).

- ``check_web_acl_rules``: every web ACL has AWS's managed rule groups, a blocking rate limit
  and a blocking body-size rule that also blocks what WAF cannot inspect (from the ACL's own
  settings, so the policy pack runs it too);
- ``check_waf_coverage``: every internet-facing ALB has a REGIONAL web ACL associated (a
  distribution's is ``check_cloudfront``'s), and every web ACL logs to an ``aws-waf-logs-``
  group kept the stack's retention;
- ``check_listeners_deny_by_default``: every ALB listener answers 403 to what no rule forwards
  (from the listener's own settings: the policy pack runs it too);
- ``check_origin_header``: what a listener forwards needs CloudFront's origin header unless the
  ALB is open to the Internet (``albIngress: internet``, where direct clients are expected);
  each CloudFront custom origin sends exactly the value a listener rule requires, and that
  value is a Pulumi secret kept in Secrets Manager.
"""

from __future__ import annotations

from typing import Any

from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource, SecretValue, revealed

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"

# PCI DSS 6.4.2's "automated technical solution": AWS's baseline and use-case rule groups.
REQUIRED_MANAGED_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesSQLiRuleSet",
)
# The API's body limit: a body-size rule may be stricter, never looser.
MAX_BODY_BYTES = 16 * 1024
WAF_LOG_PREFIX = "aws-waf-logs-"


def _statements(acl: Resource) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each rule of the ACL with its statement."""
    rules = revealed(acl.inputs.get("rules")) or []
    return [(rule, rule.get("statement") or {}) for rule in rules if isinstance(rule, dict)]


def _web_acl_rule_problems(acl: Resource) -> list[str]:
    rules = _statements(acl)
    problems = []
    groups = {
        s["managedRuleGroupStatement"].get("name")
        for _, s in rules
        if "managedRuleGroupStatement" in s
    }
    missing = [g for g in REQUIRED_MANAGED_GROUPS if g not in groups]
    if missing:
        problems.append(f"{label(acl)} lacks the managed rule groups {missing}")
    if not any("rateBasedStatement" in s and "block" in (r.get("action") or {}) for r, s in rules):
        problems.append(f"{label(acl)} has no blocking rate-based rule")
    body_rules = [
        (r, s["sizeConstraintStatement"])
        for r, s in rules
        if "body" in ((s.get("sizeConstraintStatement") or {}).get("fieldToMatch") or {})
    ]
    if not any(
        "block" in (r.get("action") or {})
        and size.get("comparisonOperator") == "GT"
        and float(size.get("size", MAX_BODY_BYTES + 1)) <= MAX_BODY_BYTES
        and size["fieldToMatch"]["body"].get("oversizeHandling") == "MATCH"
        for r, size in body_rules
    ):
        problems.append(
            f"{label(acl)} has no rule blocking bodies over {MAX_BODY_BYTES} bytes and bodies "
            "larger than WAF inspects (oversizeHandling MATCH)"
        )
    return problems


def check_web_acl_rules(graph: Graph) -> list[str]:
    """Every web ACL: the managed rule groups, a rate limit and the body-size rule."""
    return [p for acl in graph.of_type(WEB_ACL) for p in _web_acl_rule_problems(acl)]


def _arn(resource: Resource) -> object:
    return resource.outputs.get("arn")


def check_waf_coverage(graph: Graph) -> list[str]:
    """Internet-facing ALBs have a REGIONAL web ACL; every web ACL logs for the retention."""
    acls = {_arn(acl): acl for acl in graph.of_type(WEB_ACL)}
    problems = []
    for alb in graph.of_type(ALB):
        if alb.inputs.get("internal"):
            continue
        scopes = [
            acls[a.inputs.get("webAclArn")].inputs.get("scope")
            for a in graph.of_type(ASSOCIATION)
            if a.inputs.get("resourceArn") == _arn(alb) and a.inputs.get("webAclArn") in acls
        ]
        if "REGIONAL" not in scopes:
            problems.append(f"{label(alb)} has no REGIONAL web ACL: its API bypasses WAF")
    groups = {_arn(g): g for g in graph.of_type(LOG_GROUP)}
    for arn, acl in acls.items():
        destinations = [
            groups.get(d)
            for c in graph.of_type(WAF_LOGGING)
            if c.inputs.get("resourceArn") == arn
            for d in c.inputs.get("logDestinationConfigs") or []
        ]
        if not any(
            g is not None
            and str(g.inputs.get("name", "")).startswith(WAF_LOG_PREFIX)
            and g.inputs.get("retentionInDays") == LOG_RETENTION_DAYS
            for g in destinations
        ):
            problems.append(
                f"{label(acl)} logs to no {WAF_LOG_PREFIX}* log group kept "
                f"{LOG_RETENTION_DAYS} days"
            )
    return problems


def check_listeners_deny_by_default(graph: Graph) -> list[str]:
    """Every ALB listener answers what no rule forwards with a fixed 403."""
    problems = []
    for listener in graph.of_type(LISTENER):
        actions = listener.inputs.get("defaultActions") or []
        if not (
            len(actions) == 1
            and actions[0].get("type") == "fixed-response"
            and str((actions[0].get("fixedResponse") or {}).get("statusCode")) == "403"
        ):
            problems.append(
                f"{label(listener)} does not answer 403 by default: whatever no rule forwards "
                "would reach the tasks"
            )
    return problems


def _open_to_the_internet(graph: Graph, alb: Resource) -> bool:
    groups = set(alb.inputs.get("securityGroups") or [])
    return any(
        r.inputs.get("securityGroupId") in groups
        and (r.inputs.get("cidrIpv4") == "0.0.0.0/0" or r.inputs.get("cidrIpv6") == "::/0")
        for r in graph.of_type(INGRESS_RULE)
    )


def _required_headers(rule: Resource) -> dict[str, list[str]]:
    """Header name (lowercase) -> the values a listener rule accepts."""
    conditions = revealed(rule.inputs.get("conditions")) or []
    return {
        str(c["httpHeader"].get("httpHeaderName", "")).lower(): list(c["httpHeader"]["values"])
        for c in conditions
        if isinstance(c, dict) and c.get("httpHeader")
    }


def _forwards(rule: Resource) -> bool:
    return any(a.get("type") == "forward" for a in rule.inputs.get("actions") or [])


def check_origin_header(graph: Graph) -> list[str]:
    """Forwarding needs CloudFront's origin header unless the ALB is open to the Internet;
    CloudFront sends the exact value; the value is a secret kept in Secrets Manager."""
    listeners = {_arn(x): x for x in graph.of_type(LISTENER)}
    albs = {_arn(a): a for a in graph.of_type(ALB)}
    stored = {
        str(revealed(v.inputs.get("secretString")))
        for v in graph.of_type(SECRET_VERSION)
        if isinstance(v.inputs.get("secretString"), SecretValue)
    }
    problems = []
    accepted: dict[str, set[str]] = {}
    for rule in graph.of_type(LISTENER_RULE):
        if not _forwards(rule):
            continue
        headers = _required_headers(rule)
        for name, values in headers.items():
            accepted.setdefault(name, set()).update(values)
            if not isinstance(rule.inputs.get("conditions"), SecretValue):
                problems.append(f"{label(rule)} requires {name} with a value that is no secret")
            if not set(values) <= stored:
                problems.append(f"{label(rule)} requires a {name} value kept in no secret")
        listener = listeners.get(rule.inputs.get("listenerArn"))
        alb = albs.get(listener.inputs.get("loadBalancerArn")) if listener else None
        if not headers and alb is not None and not _open_to_the_internet(graph, alb):
            problems.append(
                f"{label(rule)} forwards requests without CloudFront's origin header, though "
                "only CloudFront reaches the ALB: another distribution could"
            )
    for distribution in graph.of_type(DISTRIBUTION):
        for origin in revealed(distribution.inputs.get("origins")) or []:
            if not origin.get("customOriginConfig"):
                continue
            sent = {
                str(h.get("name", "")).lower(): h.get("value")
                for h in origin.get("customHeaders") or []
            }
            if not any(sent.get(name) in values for name, values in accepted.items()):
                problems.append(
                    f"{label(distribution)} sends {origin.get('domainName')} no origin header a "
                    "listener rule accepts: the ALB answers it 403"
                )
    return problems
