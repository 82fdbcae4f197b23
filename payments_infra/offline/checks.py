"""Graph-wide checks: the conventions every resource must meet, proven over the whole graph.

Each check takes the recorded ``Graph`` (graph.py) and returns the list of offenders,
each as a sentence naming the resource and the rule; an empty list means it passes. The
offline plan prints them as pass/fail lines and the tests assert them, so a resource a later
tier adds is held to the same rules without a new test. The checks live by subject in
checks_conventions.py, checks_network.py, checks_egress.py, checks_data.py, checks_access.py,
checks_edge.py, checks_hardening.py, checks_perimeter.py, checks_dns.py, checks_custody.py,
creation_order.py, api_model.py (AWS's own request rules) and iam_lint.py (every policy
document, by parliament); ``run_checks`` runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from payments_infra.config import LOG_RETENTION_DAYS
from payments_infra.offline.api_model import ApiModelReport, check_api_rules
from payments_infra.offline.checks_access import (
    check_autoscaling_owns_task_count,
    check_cloudfront,
    check_encryption_in_transit,
    check_least_privilege,
    check_service_trusts,
)
from payments_infra.offline.checks_conventions import (
    check_descriptions,
    check_destroyable,
    check_explicit_provider,
    check_implicit_log_groups,
    check_log_retention,
    check_names,
    check_tags,
)
from payments_infra.offline.checks_custody import check_key_admins, check_secret_policies
from payments_infra.offline.checks_data import (
    check_database_private,
    check_database_zones,
    check_encryption_at_rest,
    check_no_plain_secrets,
    check_tls_to_database,
)
from payments_infra.offline.checks_dns import check_dns_firewall, check_dns_query_logging
from payments_infra.offline.checks_edge import (
    check_listeners_deny_by_default,
    check_origin_header,
    check_waf_coverage,
    check_web_acl_rules,
)
from payments_infra.offline.checks_egress import check_endpoint_clients, check_task_egress
from payments_infra.offline.checks_hardening import check_hardening, check_hardening_links
from payments_infra.offline.checks_network import (
    check_no_open_ingress,
    check_private_placement,
    check_tasks_private,
    check_zone_layout,
    check_zone_loss,
)
from payments_infra.offline.checks_perimeter import check_endpoint_callers, check_endpoint_policies
from payments_infra.offline.creation_order import check_creation_order
from payments_infra.offline.graph import Graph
from payments_infra.offline.iam_lint import IamLintReport, check_iam_documents


@dataclass(frozen=True)
class CheckResult:
    name: str
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_checks(
    graph: Graph,
    suffix: str,
    availability_zones: list[str],
    *,
    api_model: ApiModelReport | None = None,
    iam_lint: IamLintReport | None = None,
) -> list[CheckResult]:
    """Every graph-wide check, in the order the plan prints them. ``api_model`` and
    ``iam_lint``: those reports of the graph, when the caller prints them too (the plan)."""
    return [
        CheckResult("tags on every taggable resource", check_tags(graph)),
        CheckResult("explicit provider", check_explicit_provider(graph)),
        CheckResult("names and AWS limits", check_names(graph, suffix, availability_zones)),
        CheckResult("security-group descriptions", check_descriptions(graph)),
        CheckResult("destroyable", check_destroyable(graph)),
        CheckResult(f"log retention {LOG_RETENTION_DAYS} days", check_log_retention(graph)),
        CheckResult("zone layout", check_zone_layout(graph, availability_zones)),
        CheckResult("private placement", check_private_placement(graph)),
        CheckResult("survives losing any one zone", check_zone_loss(graph, availability_zones)),
        CheckResult("encryption at rest with customer keys", check_encryption_at_rest(graph)),
        CheckResult("TLS forced on the database", check_tls_to_database(graph)),
        CheckResult("database private", check_database_private(graph)),
        CheckResult("database in two zones", check_database_zones(graph)),
        CheckResult("no ingress from the whole Internet", check_no_open_ingress(graph)),
        CheckResult("no secret in a plain value", check_no_plain_secrets(graph)),
        CheckResult("log groups AWS would create exist first", check_implicit_log_groups(graph)),
        CheckResult("HTTPS with TLS 1.3 to and behind the ALB", check_encryption_in_transit(graph)),
        CheckResult("tasks private, no public IP", check_tasks_private(graph)),
        CheckResult(
            "task egress only to the endpoints, S3, the database, the allow-list",
            check_task_egress(graph),
        ),
        CheckResult("AWS APIs reachable through the VPC endpoints", check_endpoint_clients(graph)),
        CheckResult(
            "VPC endpoints closed to other accounts (policies)", check_endpoint_policies(graph)
        ),
        CheckResult(
            "DNS: only the allowed names resolve (last rule blocks *), fail closed",
            check_dns_firewall(graph),
        ),
        CheckResult("DNS queries logged for every VPC", check_dns_query_logging(graph)),
        CheckResult("secrets closed to all but their users", check_secret_policies(graph)),
        CheckResult("keys administered by the custodians only", check_key_admins(graph)),
        CheckResult("each VPC endpoint admits its callers only", check_endpoint_callers(graph)),
        CheckResult("CloudFront HTTPS, verified origins, WAF", check_cloudfront(graph)),
        CheckResult("WAF rules: managed groups, rate, body size", check_web_acl_rules(graph)),
        CheckResult("a WAF in front of every ALB, WAF logs kept", check_waf_coverage(graph)),
        CheckResult("ALB listeners answer 403 by default", check_listeners_deny_by_default(graph)),
        CheckResult("only CloudFront's origin header passes", check_origin_header(graph)),
        CheckResult("autoscaling owns the task count", check_autoscaling_owns_task_count(graph)),
        CheckResult("least-privilege policies", check_least_privilege(graph)),
        CheckResult("service roles trusted for this account only", check_service_trusts(graph)),
        CheckResult("creation order AWS needs", check_creation_order(graph)),
        CheckResult("hardening an assessor asks for", check_hardening(graph)),
        CheckResult("hardening's keys, roles and lifecycles", check_hardening_links(graph)),
        CheckResult("every input as the AWS API model allows", check_api_rules(graph, api_model)),
        CheckResult(
            "IAM documents clean in AWS's action catalogue", check_iam_documents(graph, iam_lint)
        ),
    ]
