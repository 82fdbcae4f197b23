"""The pack's rules, each mapped to a PCI DSS v4.0 requirement, and the policies they make.

A ``Rule`` validates one resource at a time (validators.py says how each decides). What no
single resource shows (which security group the tasks use, whether the stack has VPC endpoints)
is a ``StackRule``: it runs the offline graph check on every resource of the stack. It links
resources by ids, which a preview of new resources does not know: it then reports that it
cannot run, runs after ``pulumi up``, and ``make plan`` runs the same check before any deploy.
docs/security.md's rules table is generated from ``RULES`` and ``STACK_RULES``; the tests run
them without the engine (offline_validation.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from payments_infra.offline import (
    checks_access,
    checks_conventions,
    checks_custody,
    checks_data,
    checks_dns,
    checks_edge,
    checks_egress,
    checks_hardening,
    checks_perimeter,
)
from payments_infra.offline.graph import Graph, Resource
from policy.validators import (
    Validator,
    database_tls,
    encryption_at_rest,
    hardening,
    log_retention,
    no_open_ingress,
    no_public_compute,
    reuse,
)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule of the pack, declared once: docs/security.md's table is generated from these."""

    name: str
    requirement: str
    description: str
    validate: Validator
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def policy(self) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            for problem in self.validate(args):
                report(f"PCI DSS {self.requirement}: {problem}", None)

        return ResourceValidationPolicy(
            name=self.name,
            description=f"{self.description} (PCI DSS v4.0 {self.requirement})",
            validate=validate,
            enforcement_level=self.enforcement,
        )


RULES = (
    Rule(
        name="encryption-at-rest",
        requirement="3.5.1",
        description="Stored data is encrypted; keys rotate",
        validate=encryption_at_rest,
    ),
    Rule(
        name="encryption-in-transit",
        requirement="4.2.1",
        description="HTTPS-only listeners with a TLS 1.3 policy, HTTPS targets, CloudFront HTTPS",
        validate=reuse(
            lambda g: (
                checks_access.check_encryption_in_transit(g) + checks_access.check_cloudfront(g)
            )
        ),
    ),
    Rule(
        name="database-tls",
        requirement="4.2.1",
        description="The database refuses connections without TLS",
        validate=database_tls,
    ),
    Rule(
        name="no-public-compute",
        requirement="1.4.4",
        description="No public IP on tasks, subnets or the database",
        validate=no_public_compute,
    ),
    Rule(
        name="no-open-ingress",
        requirement="1.3.1",
        description="Nothing but HTTPS is open to the Internet",
        validate=no_open_ingress,
    ),
    Rule(
        name="log-retention",
        requirement="10.5.1",
        description="Every log group keeps its logs the set time",
        validate=log_retention,
    ),
    Rule(
        name="required-tags",
        requirement="12.5.1",
        description="Every taggable resource carries the inventory tags",
        validate=reuse(checks_conventions.check_tags),
    ),
    # One resource at a time: a piece of the database that is protected must be protected
    # exactly; `make plan` holds the cluster, key and secret to it together.
    Rule(
        name="destroyable",
        requirement="12.5.1",
        description="Nothing blocks a clean teardown, but a protected stack's data "
        "(payments:protectData): the database's cluster, key and secret, with deletion "
        "protection and a final snapshot",
        validate=reuse(checks_conventions.check_destroyable),
    ),
    Rule(
        name="least-privilege",
        requirement="7.2.1",
        description="No wildcard actions or resources in policies",
        validate=reuse(checks_access.check_least_privilege),
    ),
    Rule(
        name="waf-rules",
        requirement="6.4.2",
        description="Every web ACL has AWS's managed rule groups, a rate limit and a body-size "
        "rule that blocks what WAF cannot inspect",
        validate=reuse(checks_edge.check_web_acl_rules),
    ),
    Rule(
        name="alb-deny-by-default",
        requirement="6.4.2",
        description="ALB listeners answer 403 to whatever no rule forwards",
        validate=reuse(checks_edge.check_listeners_deny_by_default),
    ),
    # Advisory: certificate mode 3 (the demo `make up` deploys without a domain) always has
    # it, and a mandatory rule would refuse that demo. Production stacks raise it to
    # mandatory with policy/production.json (docs/security.md, "Policy pack").
    Rule(
        name="cloudfront-tls-production",
        requirement="4.2.1",
        description="CloudFront has a certificate of its own: on its default one it accepts TLS "
        "1.0 (not fit for production)",
        validate=reuse(checks_access.cloudfront_default_certificate),
        enforcement=EnforcementLevel.ADVISORY,
    ),
    Rule(
        name="hsts-preload",
        requirement="4.2.1",
        description="CloudFront sends HSTS for a year, to every subdomain, with preload",
        validate=hardening(checks_hardening.HEADERS_POLICY),
    ),
    Rule(
        name="abort-incomplete-uploads",
        requirement="3.2.1",
        description="Bucket lifecycles abort incomplete multipart uploads "
        "(no invisible, billed parts)",
        validate=hardening(checks_hardening.LIFECYCLE),
    ),
    Rule(
        name="image-scanning",
        requirement="6.3.1",
        description="ECR repositories scan every pushed image and encrypt it with KMS",
        validate=hardening(checks_hardening.REPOSITORY),
    ),
    Rule(
        name="hardened-configuration",
        requirement="2.2.1",
        description="Aurora instances report OS metrics (enhanced monitoring); Lambda functions "
        "trace actively and have a reserved concurrency",
        validate=hardening(checks_hardening.DB_INSTANCE, checks_hardening.FUNCTION),
    ),
    Rule(
        name="audit-log-integrity",
        requirement="10.3.4",
        description="CloudTrail trails validate their log files (tampering is detectable)",
        validate=hardening(checks_hardening.TRAIL),
    ),
)


def stack_graph(args: StackValidationArgs) -> Graph:
    """Every resource of the stack as a graph the checks can read: the engine hands a stack
    policy each resource's outputs, which hold its inputs and its ``id`` too."""
    return Graph(
        [
            Resource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                custom=True,
                parent="",
                provider="",
                inputs=dict(r.props),
                outputs=dict(r.props),
                id=str(r.props.get("id", "")),
            )
            for r in args.resources
        ],
        {},
    )


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """A rule over the whole stack (module docstring), declared like ``Rule``."""

    name: str
    requirement: str
    description: str
    check: Callable[[Graph], list[str]]
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def policy(self) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            for problem in self.check(stack_graph(args)):
                report(f"PCI DSS {self.requirement}: {problem}", None)

        return StackValidationPolicy(
            name=self.name,
            description=f"{self.description} (PCI DSS v4.0 {self.requirement})",
            validate=validate,
            enforcement_level=self.enforcement,
        )


STACK_RULES = (
    StackRule(
        name="vpc-endpoints-closed",
        requirement="1.3.2",
        description="Every VPC endpoint has a policy admitting this account's principals only, "
        "and through S3 this account's buckets and ECR's image layers only",
        check=checks_perimeter.check_endpoint_policies,
    ),
    StackRule(
        name="vpc-endpoints-admit-callers-only",
        requirement="1.3.1",
        description="Each interface endpoint has a security group of its own admitting HTTPS "
        "only from the groups of what calls its service",
        check=checks_perimeter.check_endpoint_callers,
    ),
    # Advisory: payments:vpcEndpoints=false is allowed for a demo stack (cost.md). Production
    # stacks raise it to mandatory with policy/production.json.
    StackRule(
        name="tasks-behind-vpc-endpoints",
        requirement="1.3.2",
        description="The API tasks reach AWS through the VPC endpoints, not HTTPS to any address",
        check=checks_perimeter.check_tasks_behind_endpoints,
        enforcement=EnforcementLevel.ADVISORY,
    ),
    StackRule(
        name="secrets-closed",
        requirement="7.2.1",
        description="Every secret has a resource policy denying its reads and writes to all but "
        "the roles that use it, the deployers and break-glass",
        check=checks_custody.check_secret_policies,
    ),
    StackRule(
        name="key-admin-named",
        requirement="3.6.1",
        description="No KMS key lets the whole account change its policy, disable or delete it: "
        "its administrators are named",
        check=checks_custody.check_key_admins,
    ),
    StackRule(
        name="task-egress-limited",
        requirement="1.3.2",
        description="With VPC endpoints, the API tasks send only to them, S3, the database and the "
        "allow-list: nothing to the whole Internet",
        check=checks_egress.check_task_egress,
    ),
    StackRule(
        name="dns-firewall",
        requirement="1.3.2",
        description="Every VPC's resolver answers only what a DNS Firewall rule allows (the "
        "associated group's last rule blocks every domain) and fails closed: no way out in DNS "
        "queries",
        check=checks_dns.check_dns_firewall,
    ),
    StackRule(
        name="dns-query-logging",
        requirement="10.2.1",
        description="Every VPC's DNS queries, and what DNS Firewall blocked, are logged",
        check=checks_dns.check_dns_query_logging,
    ),
    StackRule(
        name="service-trusts-confused-deputy",
        requirement="7.2.1",
        description="Every role a service may assume names this account or its resources "
        "(aws:SourceAccount, aws:SourceArn), but for the services AWS documents as sending "
        "neither (aws/service_roles.py, WITHOUT_SOURCE_KEYS)",
        check=checks_access.check_service_trusts,
    ),
    StackRule(
        name="every-bucket-aborts-uploads",
        requirement="3.2.1",
        description="Every bucket has a lifecycle rule that aborts incomplete multipart uploads",
        check=checks_hardening.check_bucket_lifecycles,
    ),
    # Advisory: payments:dbRotationDays=0 is allowed (the plan warns). Production stacks
    # raise it to mandatory with policy/production.json.
    StackRule(
        name="database-credentials-rotate",
        requirement="8.3.9",
        description="The database secret has a rotation schedule (at most a year) "
        "run by a function",
        check=checks_data.check_database_secret_rotation,
        enforcement=EnforcementLevel.ADVISORY,
    ),
)
POLICIES: tuple[Policy, ...] = (
    *(rule.policy() for rule in RULES),
    *(rule.policy() for rule in STACK_RULES),
)
