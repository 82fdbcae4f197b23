"""Every IAM policy document in the recorded graph, linted offline by parliament.

Why: AWS accepts a misspelt action, an object action on a bucket ARN or a condition key the
action never sends, and the statement then grants nothing, or not what was meant; our own
``check_least_privilege`` cannot know AWS's catalogue. parliament (pinned in
requirements-dev.txt) carries it: actions, the resource types each takes, condition keys and
their types. This module is only glue: it finds the documents, makes them readable to
parliament, and keeps the reviewed findings we accept (``JUSTIFIED``: printed, never failing).

- parliament 1.6.4 cannot be told a document's kind (duo-labs/parliament#14, #229). A trust
  policy names no Resource (the role is its resource): each trust statement is given the
  role's ARN, so parliament checks its actions against a role instead of calling it malformed.
  The glue checks what needs the kind: trust and resource policies name a Principal, identity
  policies none, trust policies no Resource.
- The mocks' placeholder ARNs (``arn:aws:<service>:us-east-1:<account>:<name>-id``) lack the
  real shapes (a real bucket ARN has no region, a key's ends in ``key/<id>``), and parliament
  matches resources by shape: each would fail RESOURCE_MISMATCH and hide a real mismatch.
  ``ARN_SHAPES`` rewrites them first; a placeholder of a type it does not know is reported.
"""

from __future__ import annotations

import json
import re
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from payments_infra.offline.checks_conventions import label
from payments_infra.offline.graph import Graph, Resource, revealed

with warnings.catch_warnings():
    # parliament 1.6.4 imports pkg_resources (deprecated) and leaves its data files open.
    warnings.simplefilter("ignore", ResourceWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    import parliament  # type: ignore[import-untyped]

TRUST = "trust policy"
IDENTITY_KINDS = {"inline policy", "managed policy"}
# Where each resource type keeps a policy document (engine input name), and its kind.
DOCUMENT_INPUTS: dict[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("assumeRolePolicy", TRUST),
    "aws:iam/rolePolicy:RolePolicy": ("policy", "inline policy"),
    "aws:iam/policy:Policy": ("policy", "managed policy"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "bucket policy"),
    "aws:kms/key:Key": ("policy", "key policy"),
    "aws:kms/keyPolicy:KeyPolicy": ("policy", "key policy"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("policy", "endpoint policy"),
    "aws:sqs/queue:Queue": ("policy", "queue policy"),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy", "queue policy"),
    "aws:sns/topic:Topic": ("policy", "topic policy"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "topic policy"),
    "aws:secretsmanager/secret:Secret": ("policy", "secret policy"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ("policy", "secret policy"),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ("policy", "repository policy"),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": ("policyDocument", "logs policy"),
}
# The real shape of the ARN of each type whose placeholder ARN a document names.
ARN_SHAPES: dict[str, str] = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{bucket}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/{keyId}",
    # Secrets Manager ends a secret's ARN with six random characters.
    "aws:secretsmanager/secret:Secret": (
        "arn:aws:secretsmanager:{region}:{account}:secret:{name}-a1B2c3"
    ),
    "aws:ecr/repository:Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "aws:ecs/cluster:Cluster": "arn:aws:ecs:{region}:{account}:cluster/{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": (
        "arn:aws:firehose:{region}:{account}:deliverystream/{name}"
    ),
    "aws:cloudfront/distribution:Distribution": "arn:aws:cloudfront::{account}:distribution/{id}",
    # A listener rule's ARN names its load balancer, listener and rule by generated ids.
    "aws:lb/listenerRule:ListenerRule": (
        "arn:aws:elasticloadbalancing:{region}:{account}:listener-rule/app/alb/"
        "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
    ),
    # The stack's only rule group is REGIONAL (the ALB's web ACL's).
    "aws:wafv2/ruleGroup:RuleGroup": (
        "arn:aws:wafv2:{region}:{account}:regional/rulegroup/{name}/{id}"
    ),
}
PLACEHOLDER_ARN = re.compile(
    r"arn:aws:[a-z0-9-]+:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<id>[\w.-]+-id)(?P<rest>/.*)?"
)
# The glue's own issue codes, beside parliament's (its config.yaml has their titles).
OWN_TITLES = {
    "PRINCIPAL_MISSING": "A trust or resource policy statement names no Principal",
    "PRINCIPAL_NOT_ALLOWED": "An identity policy statement names a Principal",
    "RESOURCE_NOT_ALLOWED": "A trust policy statement names a Resource",
    "PLACEHOLDER_ARN": "A placeholder ARN whose real shape ARN_SHAPES does not know",
}
CONDITION_ISSUES = {"UNKNOWN_CONDITION_FOR_ACTION", "MISMATCHED_TYPE", "MISMATCHED_TYPE_BUT_USABLE"}


@dataclass(frozen=True, kw_only=True)
class Justification:
    """A reviewed finding we accept: where (a logical name or a document kind), the issue,
    text its description must contain ("" for any), and why it is acceptable."""

    where: str
    issue: str
    match: str
    reason: str


JUSTIFIED: tuple[Justification, ...] = (
    Justification(
        where="key policy",
        issue="RESOURCE_STAR",
        match="",
        reason='In a key policy "Resource": "*" means the key the policy is attached to and '
        'nothing else (AWS KMS Developer Guide, "Creating a key policy": elements in a key '
        "policy).",
    ),
    Justification(
        where="logs-key-key",
        issue="UNKNOWN_CONDITION_FOR_ACTION",
        match="kms:EncryptionContext:aws:logs:arn for action kms:DescribeKey",
        reason="DescribeKey carries no encryption context (AWS lists no such condition key for "
        "it), so this condition never matches it: the statement, shaped like the CloudWatch Logs "
        "guide's (kms:Describe* under the same condition), grants DescribeKey to nobody.",
    ),
    Justification(
        where="logs-key-key",
        issue="MISMATCHED_TYPE",
        match='"ArnLike": {"kms:EncryptionContext:aws:logs:arn"',
        reason="The key's value is the log group's ARN; AWS's own policies test it with ArnLike "
        "(the managed policy CloudWatchLogsAPIKeyAccess), and parliament's catalogue types "
        "every kms:EncryptionContext: key as String.",
    ),
    Justification(
        where="break-glass-policy",
        issue="UNKNOWN_CONDITION_FOR_ACTION",
        match="kms:ResourceAliases for action kms:Decrypt",
        reason="KMS evaluates kms:ResourceAliases for operations on a key, Decrypt among them "
        '(AWS KMS Developer Guide, "kms:ResourceAliases"); parliament 1.6.4\'s catalogue predates '
        "the key. Unproven without AWS: a deploy, then a break-glass GetSecretValue.",
    ),
    Justification(
        where="origin-rotation-policy",
        issue="RESOURCE_MISMATCH",
        match="elasticloadbalancing:ModifyRule needs a resource like "
        "arn:*:elasticloadbalancing:*:*:listener-rule/net/*/*/*/*, and the statement names "
        "['arn:aws:elasticloadbalancing:",
        reason="ModifyRule acts on one rule, of an ALB (listener-rule/app/...) or of an NLB "
        "(listener-rule/net/...): the Service Authorization Reference lists both types for it, "
        "and parliament wants every listed type matched. The statement names the ALB's rule, "
        "which matches listener-rule/app (test_origin_rotation.py pins it to that rule's ARN).",
    ),
)


@dataclass(frozen=True, kw_only=True)
class IamFinding:
    resource: Resource
    kind: str
    statement: str
    issue: str
    description: str
    reason: str = ""

    @property
    def sentence(self) -> str:
        title = OWN_TITLES.get(self.issue) or parliament.config[self.issue]["title"]
        where = f"{label(self.resource)} {self.kind}" + (
            f", {self.statement}" if self.statement else ""
        )
        justified = f" (justified: {self.reason})" if self.reason else ""
        return f"{where}: {self.issue} ({title.strip()}): {self.description}{justified}"


@dataclass
class IamLintReport:
    documents: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    findings: list[IamFinding] = field(default_factory=list)
    justified: list[IamFinding] = field(default_factory=list)
    # (role, policy ARN) of each attached managed policy: an ARN, not a document; not linted.
    managed_policies: list[tuple[str, str]] = field(default_factory=list)


def _as_text(value: Any) -> str | None:
    value = revealed(value)
    if isinstance(value, dict):
        return json.dumps(value)
    return value if isinstance(value, str) and value.strip() else None


def documents_of(resource: Resource) -> Iterator[tuple[str, str, str]]:
    """(input path, kind, text) of each policy document the resource holds."""
    if resource.type in DOCUMENT_INPUTS:
        key, kind = DOCUMENT_INPUTS[resource.type]
        if (text := _as_text(resource.inputs.get(key))) is not None:
            yield key, kind, text
    if resource.type == "aws:iam/role:Role":
        for i, inline in enumerate(resource.inputs.get("inlinePolicies") or []):
            if (text := _as_text(inline.get("policy"))) is not None:
                yield f"inlinePolicies[{i}].policy", "inline policy", text


class _Shaper:
    """Rewrites the mocks' placeholder ARNs into the real shape of their resource's type."""

    def __init__(self, graph: Graph) -> None:
        self.by_id = {r.id: r for r in graph if r.custom and r.id}
        self.unknown: list[str] = []

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        match = PLACEHOLDER_ARN.fullmatch(value) if isinstance(value, str) else None
        if match is None or (owner := self.by_id.get(match["id"])) is None:
            return value
        if owner.type not in ARN_SHAPES:
            self.unknown.append(f"{value} (of a {owner.type})")
            return value
        fields = {**owner.outputs, **owner.inputs, **match.groupdict()}
        return ARN_SHAPES[owner.type].format_map(fields) + (match["rest"] or "")


def _shape_problems(kind: str, statement: dict[str, Any]) -> list[str]:
    """What parliament cannot check without the document's kind."""
    principal = "Principal" in statement or "NotPrincipal" in statement
    if kind in IDENTITY_KINDS:
        return ["PRINCIPAL_NOT_ALLOWED"] if principal else []
    problems = [] if principal else ["PRINCIPAL_MISSING"]
    if kind == TRUST and ("Resource" in statement or "NotResource" in statement):
        problems.append("RESOURCE_NOT_ALLOWED")
    return problems


def _describe(finding: Any, statement: dict[str, Any]) -> str:
    """One line naming the action, resource or condition parliament's finding is about."""
    detail = finding.detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        wanted = "; ".join(
            f"{d['action']} needs a resource like {d['required_format']}" for d in detail
        )
        return f"{wanted}, and the statement names {statement.get('Resource')}"
    if isinstance(detail, list):
        return f"{', '.join(detail)} on Resource *"
    text = str(detail or "")
    located = str(finding.location.get("string") or "")
    if located and located not in text:
        text = f"{text}: {located}" if text else located
    if finding.issue in CONDITION_ISSUES:
        text += f" in Condition {json.dumps(statement.get('Condition'))}"
    if "PRINCIPAL" in finding.issue or "FEDERATION" in finding.issue:
        text += f" in Principal {json.dumps(statement.get('Principal'))}"
    return text


def _lint(resource: Resource, kind: str, document: dict[str, Any]) -> list[IamFinding]:
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    names = [
        f"statement {(s.get('Sid') if isinstance(s, dict) else '') or i + 1}"
        for i, s in enumerate(statements)
    ]
    found: list[IamFinding] = []
    for name, statement in zip(names, statements, strict=True):
        if not isinstance(statement, dict):
            continue  # parliament reports it
        found += [
            IamFinding(resource=resource, kind=kind, statement=name, issue=x, description="")
            for x in _shape_problems(kind, statement)
        ]
        if kind == TRUST and "Resource" not in statement and "NotResource" not in statement:
            # The role is a trust policy's resource: parliament then checks the actions on it.
            statement["Resource"] = resource.outputs.get("arn") or "arn:aws:iam::*:role/*"
    text = json.dumps({**document, "Statement": statements}, indent=2)
    # The lines where statements start: parliament locates its findings by line.
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("    {")]
    try:
        findings = parliament.analyze_policy_string(text).findings
    except Exception as error:  # a bug of parliament's: a finding, not a crash of the plan
        return [
            *found,
            IamFinding(
                resource=resource,
                kind=kind,
                statement="",
                issue="EXCEPTION",
                description=repr(error),
            ),
        ]
    for finding in findings:
        line = finding.location.get("line")
        index = bisect_right(starts, line) - 1 if line is not None else -1
        statement = statements[index] if index >= 0 else {}
        description = _describe(finding, statement if isinstance(statement, dict) else {})
        name = names[index] if index >= 0 else ""
        found.append(
            IamFinding(
                resource=resource,
                kind=kind,
                statement=name,
                issue=finding.issue,
                description=description,
            )
        )
    return found


def _justification(finding: IamFinding, justified: Sequence[Justification]) -> str:
    for row in justified:
        if (
            row.where in (finding.resource.name, finding.kind)
            and row.issue == finding.issue
            and row.match in finding.description
        ):
            return row.reason
    return ""


def _managed_policies(graph: Graph) -> list[tuple[str, str]]:
    """(role, policy ARN) of each managed policy attached to a role: ARNs, not documents."""
    attached = [
        (str(a.inputs["role"]), str(a.inputs["policyArn"]))
        for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]
    for role in graph.of_type("aws:iam/role:Role"):
        name = str(role.inputs.get("name", role.name))
        attached += [(name, str(arn)) for arn in role.inputs.get("managedPolicyArns") or []]
    return attached


def _resource_findings(
    resource: Resource, shaper: _Shaper, report: IamLintReport
) -> list[IamFinding]:
    """Lint each document ``resource`` holds."""
    found = []
    for _path, kind, text in documents_of(resource):
        report.documents += 1
        report.kinds[kind] += 1
        try:
            document = shaper(json.loads(text))
            problem = "" if isinstance(document, dict) else "the document is not a JSON object"
        except json.JSONDecodeError as error:
            problem = str(error)
        if problem:
            found.append(
                IamFinding(
                    resource=resource,
                    kind=kind,
                    statement="",
                    issue="MALFORMED_JSON",
                    description=problem,
                )
            )
            continue
        found += [
            IamFinding(
                resource=resource, kind=kind, statement="", issue="PLACEHOLDER_ARN", description=p
            )
            for p in shaper.unknown
        ]
        shaper.unknown.clear()
        found += _lint(resource, kind, document)
    return found


def lint_iam_documents(
    graph: Graph, justified: Sequence[Justification] = JUSTIFIED
) -> IamLintReport:
    """Lint every policy document of the graph; sort the findings into justified and not."""
    report = IamLintReport(managed_policies=_managed_policies(graph))
    shaper = _Shaper(graph)
    for resource in graph:
        for finding in _resource_findings(resource, shaper, report) if resource.custom else []:
            reason = _justification(finding, justified)
            if reason:
                report.justified.append(replace(finding, reason=reason))
            else:
                report.findings.append(finding)
    return report


def check_iam_documents(graph: Graph, report: IamLintReport | None = None) -> list[str]:
    """One sentence per finding parliament (or the glue) raised that no row of JUSTIFIED accepts.
    ``report``: the graph's ``lint_iam_documents``, when the caller has it already."""
    return [finding.sentence for finding in (report or lint_iam_documents(graph)).findings]
