"""IAM policies for the three people who operate a stack, written from its recorded graph.

    python -m payments_infra.offline.operator_policies --stack prod [--out build/iam-prod]
        [--secrets-provider awskms://alias/pulumi-state?region=us-east-1]

Why: without them ``make up`` runs as an account administrator, ``make verify`` with the
rights to change what it checks, and the key procedure with whatever its operator holds
(PCI DSS 7.2). Each file is a policy an administrator attaches, naming this stack's resources
(the graph's names, from naming.py) in its account (``payments:accountId``, else ``*``) and in
us-east-1 only (``aws:RequestedRegion``; IAM, CloudFront and Route 53 answer there too):

- ``deployer.json``: the services of the graph's types (``api_calls.API_CALLS``) and data
  sources; IAM only on the stack's roles (PassRole only to the service each trusts, only the
  managed policies the graph attaches, service-linked roles only of the services that need
  them); S3, Secrets Manager and Route 53 only on the stack's own; the state backend.
- ``verifier.json``: exactly the read calls of tests/integration, on the stack's resources
  where the action takes one, and the state reads; no secret value (``VERIFIER_WITHHELD``).
- ``key-operator.json`` (docs/deploy.md, API keys): RunTask of the API's task definition family
  in the stack's cluster, PassRole of that task's two roles to ECS tasks, and the API's logs.

What each grants is in reviewed tables (operator_grants.py); a wildcard action appears only
in a statement ``WILDCARDS`` names there, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payments_infra import REPO_ROOT
from payments_infra.config.errors import ConfigError
from payments_infra.config.naming import Names, PhysicalName, physical_name
from payments_infra.offline import stack_file
from payments_infra.offline.api_calls import API_CALLS
from payments_infra.offline.graph import Graph, Resource, revealed
from payments_infra.offline.mocks import record_program
from payments_infra.offline.operator_grants import (
    ATTACHMENT,
    CONDITIONS,
    IAM_PREFIXES,
    INVOKE_ACTIONS,
    KEY_OPERATOR,
    OTHER_TYPE_PREFIXES,
    REGION,
    REGIONAL_PRINCIPAL,
    ROLE,
    ROLE_ACTIONS,
    SCOPED_TYPES,
    SERVICE_LINKED,
    VERIFIER,
)
from payments_infra.offline.state_backend import Backend, effective_backend

Policy = dict[str, Any]


class PolicyError(ValueError):
    """The graph holds something these policies were not written for; one sentence."""


@dataclass(frozen=True)
class Stack:
    graph: Graph
    suffix: str
    account: str
    backend: Backend | None = None
    secrets_provider: str | None = None

    def named(self, type_: str, entry: PhysicalName, key: str = "name") -> str:
        """naming.py's name ``entry`` in this stack, after checking the graph holds it."""
        name = physical_name(entry, self.suffix)
        if name not in _names(self.graph, type_, key):
            raise PolicyError(f"the graph has no {type_} named {name}: update this module")
        return name


def _action_names(actions: str) -> list[str]:
    """``"ec2:A B rds:C"`` -> ec2:A, ec2:B, rds:C: a name without a prefix takes the one
    before it."""
    prefix, names = "", []
    for token in actions.split():
        prefix, _, name = token.rpartition(":") if ":" in token else (prefix, ":", token)
        names.append(f"{prefix}:{name}")
    return names


def _statement(
    sid: str,
    actions: str | Iterable[str],
    resources: str | Iterable[str],
    condition: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    regional: bool = True,
) -> dict[str, Any]:
    """One Allow statement. ``actions``: a list, or a string where a name without a prefix
    takes the one before it; ``resources``: a list, or a space-separated string."""
    merged = {operator: dict(keys) for operator, keys in (condition or {}).items()}
    if regional:
        merged.setdefault("StringEquals", {})["aws:RequestedRegion"] = REGION
    if isinstance(actions, str):
        actions = _action_names(actions)
    resources = resources.split() if isinstance(resources, str) else resources
    statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions))}
    statement["Resource"] = sorted(set(resources))
    return {**statement, "Condition": merged} if merged else statement


def _names(graph: Graph, type_: str, key: str = "name") -> list[str]:
    names = [revealed(r.inputs.get(key)) for r in graph.of_type(type_)]
    if not all(isinstance(name, str) and name for name in names):
        raise PolicyError(f"a {type_} has no {key}: the policies need every physical name")
    return sorted(names)


def service_prefixes(graph: Graph) -> set[str]:
    """The IAM service prefix of every resource type of the graph."""
    prefixes: set[str] = set()
    for resource in graph:
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            continue
        if resource.type in API_CALLS:
            service = API_CALLS[resource.type].service
            prefix: str | None = IAM_PREFIXES.get(service, service)
        elif resource.type in OTHER_TYPE_PREFIXES:
            prefix = OTHER_TYPE_PREFIXES[resource.type]
        else:
            raise PolicyError(f"{resource.type}: add it to OTHER_TYPE_PREFIXES or API_CALLS")
        allowed = SCOPED_TYPES.get(prefix or "")
        if allowed is not None and resource.type not in allowed:
            raise PolicyError(f"{resource.type}: the deployer's {prefix} statements need review")
        prefixes |= {prefix} if prefix else set()
    return prefixes


def trusted_services(role: Resource) -> frozenset[str]:
    """The service principals a role's trust policy names, as iam:PassedToService sees them."""
    document = revealed(role.inputs.get("assumeRolePolicy"))
    document = json.loads(document) if isinstance(document, str) else document or {}
    statements = document.get("Statement", [])
    services: set[str] = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        named = principal.get("Service", []) if isinstance(principal, dict) else []
        services |= {named} if isinstance(named, str) else set(named)
    return frozenset(services | {REGIONAL_PRINCIPAL.sub(r"\1.amazonaws.com", s) for s in services})


def state_key(provider: str | None, account: str) -> tuple[str, dict[str, Any]] | None:
    """The key of an ``awskms://`` secrets provider: its ARN, or, for an alias, any key of the
    account that carries the alias (kms:ResourceAliases)."""
    if not provider or not provider.startswith("awskms://"):
        return None
    parts = urllib.parse.urlsplit(provider)
    key = urllib.parse.unquote(parts.netloc + parts.path)
    region = urllib.parse.parse_qs(parts.query).get("region", [REGION])[0]
    if key.startswith("arn:"):
        return key, {}
    if key.startswith("alias/"):
        aliased = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key]}}
        return f"arn:aws:kms:{region}:{account}:key/*", aliased
    return f"arn:aws:kms:{region}:{account}:key/{key}", {}


def state_statements(stack: Stack, *, write: bool) -> list[dict[str, Any]]:
    """The S3 state backend's bucket, objects and key; nothing for a local or other backend.
    A reader never gets kms:Decrypt: the key opens every secret of the stack's state."""
    if stack.backend is None or stack.backend.scheme != "s3":
        return []
    parts = urllib.parse.urlsplit(stack.backend.url)
    bucket, prefix = f"arn:aws:s3:::{parts.netloc}", parts.path.strip("/")
    objects = f"{bucket}/{prefix + '/' if prefix else ''}.pulumi/*"
    writes = " PutObject DeleteObject" if write else ""
    found = [
        _statement("StateBucket", "s3:ListBucket GetBucketVersioning", bucket, regional=False),
        _statement("StateObjects", f"s3:GetObject{writes}", objects, regional=False),
    ]
    if key := state_key(stack.secrets_provider, stack.account):
        actions = "kms:DescribeKey" + (" Encrypt Decrypt" if write else "")
        found.append(_statement("StateKey", actions, key[0], key[1], regional=False))
    return found


def _role_statements(graph: Graph, account: str) -> list[dict[str, Any]]:
    """The stack's roles, the managed policies they get, whom each is passed to, and the
    service-linked roles the stack's types make AWS create."""
    roles = {str(r.inputs["name"]): r for r in graph.of_type(ROLE)}
    arns = {name: f"arn:aws:iam::{account}:role/{name}" for name in roles}
    found = [_statement("StackRoles", ROLE_ACTIONS, arns.values())] if roles else []
    managed = {str(a.inputs["policyArn"]) for a in graph.of_type(ATTACHMENT)}
    managed |= {str(p) for r in roles.values() for p in r.inputs.get("managedPolicyArns") or []}
    if managed:
        only = {"ArnEquals": {"iam:PolicyARN": sorted(managed)}}
        attach = "iam:AttachRolePolicy DetachRolePolicy"
        found.append(_statement("AttachTheGraphsManagedPolicies", attach, arns.values(), only))
    passed: defaultdict[frozenset[str], list[str]] = defaultdict(list)
    for name, role in roles.items():
        if services := trusted_services(role):
            passed[services].append(arns[name])
    for services, passed_arns in sorted(passed.items(), key=lambda item: sorted(item[0])):
        word = re.split(r"\.amazonaws|\.[a-z]{2}-", min(services), maxsplit=1)[0]
        sid = "PassRoleTo" + "".join(p.capitalize() for p in re.split(r"[^a-z0-9]+", word))
        to = {"StringEquals": {"iam:PassedToService": sorted(services)}}
        found.append(_statement(sid, "iam:PassRole", passed_arns, to))
    if linked := sorted({SERVICE_LINKED[r.type] for r in graph if r.type in SERVICE_LINKED}):
        slr = f"arn:aws:iam::{account}:role/aws-service-role/*"
        only = {"StringEquals": {"iam:AWSServiceName": linked}}
        found.append(_statement("ServiceLinkedRoles", "iam:CreateServiceLinkedRole", slr, only))
    return found


def deployer(stack: Stack) -> Policy:
    graph, secret = stack.graph, f"arn:aws:secretsmanager:{REGION}:{stack.account}:secret"
    buckets = _names(graph, "aws:s3/bucket:Bucket", "bucket")
    # Secrets Manager ends a secret's ARN with a hyphen and six random characters.
    secrets = [
        f"{secret}:{name}-??????" for name in _names(graph, "aws:secretsmanager/secret:Secret")
    ]
    zones = _names(graph, "aws:route53/record:Record", "zoneId")
    rows: list[tuple[str, str | list[str], list[str]]] = [
        ("GraphServices", [f"{p}:*" for p in service_prefixes(graph) - set(SCOPED_TYPES)], ["*"]),
        ("ProviderDataSources", " ".join(_invoke_actions(iam=False)), ["*"]),
        # The deployer's own role (aws.get_caller_identity, then iam.get_session_context,
        # which reads the role for its path): the program admits it to the secrets and keys
        # (aws/access.py). Which role deploys is not known here, so any role of the account;
        # GetRole is read-only and reveals no secret.
        (
            "ReadTheDeployersRole",
            _invoke_actions(iam=True),
            [f"arn:aws:iam::{stack.account}:role/*"],
        ),
        ("StackBuckets", "s3:*", [f"arn:aws:s3:::{b}{t}" for b in buckets for t in ("", "/*")]),
        ("StackSecrets", "secretsmanager:*", secrets),
        (
            "HostedZone",
            "route53:ChangeResourceRecordSets GetHostedZone ListResourceRecordSets",
            [f"arn:aws:route53:::hostedzone/{zone}" for zone in zones],
        ),
        ("HostedZoneChanges", "route53:GetChange", ["arn:aws:route53:::change/*"] if zones else []),
    ]
    found = [_statement(sid, actions, arns) for sid, actions, arns in rows if arns]
    found += _role_statements(graph, stack.account) + state_statements(stack, write=True)
    return {"Version": "2012-10-17", "Statement": found}


def _invoke_actions(*, iam: bool) -> list[str]:
    """The data sources' actions, IAM's or the others' (the lists INVOKE_ACTIONS holds)."""
    actions = _action_names(" ".join(INVOKE_ACTIONS.values()))
    return [a for a in actions if a.startswith("iam:") == iam]


def _names_of(stack: Stack) -> dict[str, str]:
    """The ARN prefixes and the stack's names the VERIFIER and KEY_OPERATOR rows use."""
    named, account = stack.named, stack.account
    names = {
        s: f"arn:aws:{s}:{REGION}:{account}:" for s in ("ec2", "ecs", "rds", "cloudwatch", "wafv2")
    }
    instance = "aws:rds/clusterInstance:ClusterInstance"
    names |= {
        "cluster": named("aws:ecs/cluster:Cluster", Names.ecs_cluster),
        "service": named("aws:ecs/service:Service", Names.ecs_service),
        "keys_family": named(
            "aws:ecs/taskDefinition:TaskDefinition", Names.keys_task_family, "family"
        ),
        "db_cluster": named("aws:rds/cluster:Cluster", Names.db_cluster, "clusterIdentifier"),
        "writer": named(instance, Names.db_instance_writer, "identifier"),
        "reader": named(instance, Names.db_instance_reader, "identifier"),
        "site_acl": named("aws:wafv2/webAcl:WebAcl", Names.web_acl),
        "alb_acl": named("aws:wafv2/webAcl:WebAcl", Names.alb_web_acl),
        "distributions": f"arn:aws:cloudfront::{account}:distribution/*",
    }
    parameters = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
    names["parameters"] = named(parameters, Names.db_cluster_parameter_group)
    names["db_secrets"] = " ".join(
        f"arn:aws:secretsmanager:{REGION}:{account}:secret:"
        f"{named('aws:secretsmanager/secret:Secret', entry)}-??????"
        for entry in (Names.db_master_secret, Names.db_app_secret, Names.db_keys_secret)
    )
    alb = named("aws:lb/loadBalancer:LoadBalancer", Names.alb)
    names["alb"] = f"arn:aws:elasticloadbalancing:{REGION}:{account}:loadbalancer/app/{alb}/*"

    def log_groups(*entries: PhysicalName) -> str:
        groups = [named("aws:cloudwatch/logGroup:LogGroup", entry) for entry in entries]
        arn = f"arn:aws:logs:{REGION}:{account}:log-group"
        return " ".join(f"{arn}:{group}{tail}" for group in groups for tail in ("", ":*"))

    names["keys_log_group"] = log_groups(Names.keys_log_group)
    checked = (
        Names.flow_log_group,
        Names.api_log_group,
        Names.alb_access_log_group,
        Names.db_log_group,
    )
    names["checked_log_groups"] = log_groups(*checked)
    tasks = stack.graph.of_type("aws:ecs/taskDefinition:TaskDefinition")
    # The key task's roles: its execution role (it has no task role, calling no AWS API).
    task = next(t for t in tasks if t.inputs.get("family") == names["keys_family"])
    roles = [
        str(task.inputs[k]).rsplit("/", 1)[-1]
        for k in ("executionRoleArn", "taskRoleArn")
        if task.inputs.get(k)
    ]
    names["keys_task_roles"] = " ".join(f"arn:aws:iam::{account}:role/{role}" for role in roles)
    return names


def _from_rows(stack: Stack, rows: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    names = _names_of(stack)
    statements = []
    for sid, actions, resources in rows:
        condition = {
            operator: {key: value.format_map(names) for key, value in keys.items()}
            for operator, keys in CONDITIONS.get(sid, {}).items()
        }
        statements.append(_statement(sid, actions, resources.format_map(names), condition))
    return statements


def policies(stack: Stack) -> dict[str, Policy]:
    """File name -> policy document, for the three operators."""
    verifier = _from_rows(stack, VERIFIER) + state_statements(stack, write=False)
    key_operator = _from_rows(stack, KEY_OPERATOR)
    return {
        "deployer.json": deployer(stack),
        "verifier.json": {"Version": "2012-10-17", "Statement": verifier},
        "key-operator.json": {"Version": "2012-10-17", "Statement": key_operator},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev", help="stack name; reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", help="where the three files go; default build/iam-<stack>")
    parser.add_argument("--secrets-provider", help="awskms://...; default the stack file's")
    args = parser.parse_args(argv)
    try:
        path = stack_file.stack_file_path(REPO_ROOT, args.stack)
        config, document = stack_file.read_stack_config(path), stack_file.load_stack_document(path)
        stack = Stack(
            record_program(config, stack=args.stack),
            config["payments:environmentSuffix"],
            config.get("payments:accountId") or "*",
            effective_backend(REPO_ROOT, os.environ),
            args.secrets_provider or document.get("secretsprovider"),
        )
        written = policies(stack)
    except (stack_file.StackFileError, ConfigError, PolicyError) as error:
        print(f"operator-policies: {error}", file=sys.stderr)
        return 2
    out = Path(args.out or REPO_ROOT / "build" / f"iam-{args.stack}")
    out.mkdir(parents=True, exist_ok=True)
    for name, policy in written.items():
        (out / name).write_text(json.dumps(policy, indent=2) + "\n")
        print(f"{out / name}: {len(policy['Statement'])} statements")
    if stack.account == "*":
        print("note: payments:accountId is not set, so the ARNs name any account (*)")
    if stack.backend and stack.backend.scheme == "s3" and not state_key(stack.secrets_provider, ""):
        print("note: no awskms:// secrets provider (--secrets-provider): no state key granted")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # as plan.py does: nothing is left to tear down
