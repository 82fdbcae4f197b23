"""Queries over the edge in a recorded graph (web ACLs, listener rules, the distribution),
shared by test_edge_guardrails.py, test_edge_listener.py and test_edge_cloudfront_tls.py; the
graphs of each certificate mode and ingress they run on are fixtures of tests/unit/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from payments_infra.offline.graph import Graph, Resource
from policy.rules import RULES

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RULE = {rule.name: rule for rule in RULES}


def one(graph: Graph, type_token: str, where: Callable[[Resource], bool]) -> Resource:
    """The one resource of this type for which ``where`` holds."""
    (resource,) = [r for r in graph.of_type(type_token) if where(r)]
    return resource


def alb_acl(graph: Graph) -> Resource:
    """The ALB's own (REGIONAL) web ACL."""
    return one(graph, WEB_ACL, lambda acl: acl.inputs["scope"] == "REGIONAL")


def rules_by_name(acl: Resource) -> dict[str, dict[str, Any]]:
    """The web ACL's rules by name, in their order."""
    return {rule["name"]: rule for rule in acl.inputs["rules"]}
