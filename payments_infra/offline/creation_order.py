"""Creation orders the engine cannot infer, checked on the recorded graph.

Pulumi creates a resource as soon as the values it reads exist, so an order that AWS needs
but no input expresses must be a ``depends_on``. Each rule below names one such order and
why AWS needs it; ``check_creation_order`` reports every resource that does not wait
(directly or through other dependencies) for what its rule says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from payments_infra.config.naming import Names
from payments_infra.offline.checks_egress import (
    EGRESS_RULE,
    INGRESS_RULE,
    VPC_ENDPOINT,
    interface_endpoints,
    rules_on,
    service_groups,
)
from payments_infra.offline.graph import Graph, Resource

ALB = "aws:lb/loadBalancer:LoadBalancer"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROLE = "aws:iam/role:Role"
ROLE_POLICIES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
)
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
INVOCATION = "aws:lambda/invocation:Invocation"
# The logins' secrets (components/database/aurora.py), by name: they rotate with alternating users.
LOGIN_SECRET_PREFIXES = tuple(
    f"{entry.prefix}-" for entry in (Names.db_app_secret, Names.db_keys_secret)
)


@dataclass(frozen=True, kw_only=True)
class CreationOrder:
    """``waiter`` resources must be created after everything ``prerequisites`` names."""

    name: str
    waiter: str
    prerequisites: Callable[[Graph, Resource], list[Resource]]
    why: str


def ancestors(graph: Graph, resource: Resource) -> set[str]:
    """Every URN ``resource`` waits for, directly or through its dependencies."""
    by_urn = {r.urn: r for r in graph}
    seen: set[str] = set()
    stack = list(resource.dependencies)
    while stack:
        urn = stack.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in by_urn:
            stack.extend(by_urn[urn].dependencies)
    return seen


def _matching(resources: Iterable[Resource], *values: object) -> list[Resource]:
    """The resources whose id or ARN is one of ``values``."""
    wanted = {v for v in values if isinstance(v, str)}
    return [r for r in resources if r.id in wanted or r.outputs.get("arn") in wanted]


def _role_policies(graph: Graph, role_arns: Iterable[object]) -> list[Resource]:
    roles = _matching(graph.of_type(ROLE), *role_arns)
    role_keys = {key for role in roles for key in (role.id, role.outputs.get("name"))}
    return [r for r in graph if r.type in ROLE_POLICIES and r.inputs.get("role") in role_keys]


def _task_definition(graph: Graph, service: Resource) -> Resource | None:
    found = _matching(graph.of_type(TASK_DEFINITION), service.inputs.get("taskDefinition"))
    return found[0] if found else None


def internet_gateways(graph: Graph, alb: Resource) -> list[Resource]:
    if alb.inputs.get("internal"):
        return []
    return graph.of_type(INTERNET_GATEWAY)


def secret_values(graph: Graph, service: Resource) -> list[Resource]:
    """The SecretVersions of every secret the service's containers read."""
    return _secret_values_of(graph, _task_definition(graph, service))


def _secret_values_of(graph: Graph, task: Resource | None) -> list[Resource]:
    if task is None:
        return []
    containers = json.loads(str(task.inputs.get("containerDefinitions") or "[]"))
    value_from = [s["valueFrom"] for c in containers for s in c.get("secrets", [])]
    secrets = [
        s
        for s in graph.of_type(SECRET)
        if any(str(v).startswith(str(s.outputs.get("arn"))) for v in value_from)
    ]
    secret_keys = {key for s in secrets for key in (s.id, s.outputs.get("arn"))}
    return [v for v in graph.of_type(SECRET_VERSION) if v.inputs.get("secretId") in secret_keys]


def task_role_policies(graph: Graph, service: Resource) -> list[Resource]:
    task = _task_definition(graph, service)
    if task is None:
        return []
    return _role_policies(
        graph, (task.inputs.get("executionRoleArn"), task.inputs.get("taskRoleArn"))
    )


def private_egress(graph: Graph, service: Resource) -> list[Resource]:
    """The default routes and route-table associations of the service's subnets."""
    network = service.inputs.get("networkConfiguration") or {}
    subnets = set(network.get("subnets") or [])
    associations = [
        a for a in graph.of_type(ROUTE_TABLE_ASSOCIATION) if a.inputs.get("subnetId") in subnets
    ]
    tables = {a.inputs.get("routeTableId") for a in associations}
    routes = [
        r
        for r in graph.of_type(ROUTE)
        if r.inputs.get("routeTableId") in tables
        and r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"
    ]
    return associations + routes


def vpc_endpoints(graph: Graph, service: Resource) -> list[Resource]:
    """The interface endpoints in the service's subnets, the gateway endpoints whose prefix
    list its tasks send to, and the rules that let the tasks reach them."""
    network = service.inputs.get("networkConfiguration") or {}
    subnets = set(network.get("subnets") or [])
    groups = service_groups(service)
    interface = [
        e for e in interface_endpoints(graph) if subnets & set(e.inputs.get("subnetIds") or [])
    ]
    endpoint_groups = {g for e in interface for g in e.inputs.get("securityGroupIds") or []}
    egress = rules_on(graph, EGRESS_RULE, groups)
    prefix_lists = {r.inputs["prefixListId"] for r in egress if r.inputs.get("prefixListId")}
    gateway = [
        e
        for e in graph.of_type(VPC_ENDPOINT)
        if e.inputs.get("vpcEndpointType") == "Gateway"
        and e.outputs.get("prefixListId") in prefix_lists
    ]
    gateway_lists = {e.outputs["prefixListId"] for e in gateway}
    rules = [
        r
        for r in egress
        if r.inputs.get("referencedSecurityGroupId") in endpoint_groups
        or r.inputs.get("prefixListId") in gateway_lists
    ]
    rules += [
        r
        for r in rules_on(graph, INGRESS_RULE, endpoint_groups)
        if r.inputs.get("referencedSecurityGroupId") in groups
    ]
    return interface + gateway + rules


def first_instance(graph: Graph, instance: Resource) -> list[Resource]:
    """The cluster's writer (lowest promotion tier) for every other instance of it."""
    siblings = [
        i
        for i in graph.of_type(CLUSTER_INSTANCE)
        if i.inputs.get("clusterIdentifier") == instance.inputs.get("clusterIdentifier")
    ]
    writer = min(siblings, key=lambda i: (i.inputs.get("promotionTier", 0), i.name))
    return [] if writer is instance else [writer]


def forwarding_to_targets(graph: Graph, service: Resource) -> list[Resource]:
    """The listeners and listener rules that forward to the service's target groups."""
    groups = {lb.get("targetGroupArn") for lb in service.inputs.get("loadBalancers") or []}

    def forwards(actions: object) -> bool:
        return isinstance(actions, list) and any(
            a.get("type") == "forward" and a.get("targetGroupArn") in groups for a in actions
        )

    listeners = [x for x in graph.of_type(LISTENER) if forwards(x.inputs.get("defaultActions"))]
    rules = [x for x in graph.of_type(LISTENER_RULE) if forwards(x.inputs.get("actions"))]
    return listeners + rules


def flow_log_role_policies(graph: Graph, flow_log: Resource) -> list[Resource]:
    return _role_policies(graph, [flow_log.inputs.get("iamRoleArn")])


def vpc_function_role_policies(graph: Graph, function: Resource) -> list[Resource]:
    """The role policies of a function in a VPC (none for a function outside one)."""
    if not function.inputs.get("vpcConfig"):
        return []
    return _role_policies(graph, [function.inputs.get("role")])


def rotation_prerequisites(graph: Graph, rotation: Resource) -> list[Resource]:
    """The secret's value, the rotation function's role policies, and the permission that
    lets Secrets Manager invoke that function."""
    secret = rotation.inputs.get("secretId")
    values = [v for v in graph.of_type(SECRET_VERSION) if v.inputs.get("secretId") == secret]
    functions = _matching(graph.of_type(LAMBDA_FUNCTION), rotation.inputs.get("rotationLambdaArn"))
    names = {f.inputs.get("name") for f in functions} | {f.outputs.get("arn") for f in functions}
    permissions = [
        p
        for p in graph.of_type(LAMBDA_PERMISSION)
        if p.inputs.get("function") in names
        and p.inputs.get("principal") == "secretsmanager.amazonaws.com"
    ]
    policies = _role_policies(graph, [f.inputs.get("role") for f in functions])
    return values + permissions + policies


def migrations_task(graph: Graph, invocation: Resource) -> Resource | None:
    """The task definition a migration run (migration_runner.py) starts, from its input."""
    try:
        event = json.loads(str(invocation.inputs.get("input") or "{}"))
    except ValueError:
        return None
    found = _matching(graph.of_type(TASK_DEFINITION), event.get("taskDefinition"))
    return found[0] if found else None


def migration_runs(graph: Graph, _waiter: Resource | None = None) -> list[Resource]:
    """Every invocation that runs a migrations task."""
    return [i for i in graph.of_type(INVOCATION) if migrations_task(graph, i) is not None]


def migration_prerequisites(graph: Graph, invocation: Resource) -> list[Resource]:
    """The database's writer, the values of the secrets the migrations task reads, and its
    execution role's policy."""
    task = migrations_task(graph, invocation)
    instances = graph.of_type(CLUSTER_INSTANCE)
    if task is None or not instances:
        return []
    writer = min(instances, key=lambda i: (i.inputs.get("promotionTier", 0), i.name))
    return [
        writer,
        *_secret_values_of(graph, task),
        *_role_policies(graph, (task.inputs.get("executionRoleArn"),)),
    ]


def login_rotation_migrations(graph: Graph, rotation: Resource) -> list[Resource]:
    """The migration runs, for a rotation of a login's secret."""
    logins = [
        s
        for s in graph.of_type(SECRET)
        if str(s.inputs.get("name", "")).startswith(LOGIN_SECRET_PREFIXES)
    ]
    secret = rotation.inputs.get("secretId")
    if not any(secret in (s.id, s.outputs.get("arn")) for s in logins):
        return []
    return migration_runs(graph, rotation)


ORDERS: tuple[CreationOrder, ...] = (
    CreationOrder(
        name="internet-facing ALB after the internet gateway",
        waiter=ALB,
        prerequisites=internet_gateways,
        why="AWS refuses an internet-facing load balancer in a VPC with no internet gateway",
    ),
    CreationOrder(
        name="ECS service after its secret's value",
        waiter=ECS_SERVICE,
        prerequisites=secret_values,
        why="a task that reads a secret with no value yet fails with ResourceInitializationError",
    ),
    CreationOrder(
        name="ECS service after its roles' policies",
        waiter=ECS_SERVICE,
        prerequisites=task_role_policies,
        why="a task whose role has no policy yet cannot pull its image or read its secret",
    ),
    CreationOrder(
        name="ECS service after the private default routes",
        waiter=ECS_SERVICE,
        prerequisites=private_egress,
        why="a task in a subnet with no route out cannot pull its image or reach AWS APIs",
    ),
    CreationOrder(
        name="ECS service after what forwards to its target group",
        waiter=ECS_SERVICE,
        prerequisites=forwarding_to_targets,
        why="ECS refuses a target group that no listener or listener rule forwards to (it has no "
        "load balancer yet); the listener's own default action answers 403",
    ),
    CreationOrder(
        name="ECS service after the VPC endpoints and the rules to them",
        waiter=ECS_SERVICE,
        prerequisites=vpc_endpoints,
        why="with no way to the whole Internet, a task started before them cannot pull its image, "
        "read its secret or write its logs",
    ),
    CreationOrder(
        name="Aurora reader after the writer",
        waiter=CLUSTER_INSTANCE,
        prerequisites=first_instance,
        why="Aurora makes the first instance available the writer, whatever it is called",
    ),
    CreationOrder(
        name="flow log after its role's policy",
        waiter=FLOW_LOG,
        prerequisites=flow_log_role_policies,
        why="EC2 checks at creation that the flow log's role may write to the log group",
    ),
    CreationOrder(
        name="function in a VPC after its role's policy",
        waiter=LAMBDA_FUNCTION,
        prerequisites=vpc_function_role_policies,
        why="Lambda checks at creation that the role may create the function's network interfaces",
    ),
    CreationOrder(
        name="ECS service after the migrations",
        waiter=ECS_SERVICE,
        prerequisites=migration_runs,
        why="new tasks must find the schema their image expects: the migrations of that image run "
        "first, and a failed run stops the deploy before the service changes",
    ),
    CreationOrder(
        name="migrations after the database, their secrets' values and their role's policy",
        waiter=INVOCATION,
        prerequisites=migration_prerequisites,
        why="the runner starts the task at once: it needs a database to migrate, the credentials "
        "ECS injects, and a role that may read them",
    ),
    CreationOrder(
        name="a login's secret rotation after the migrations",
        waiter=SECRET_ROTATION,
        prerequisites=login_rotation_migrations,
        why="a login's first rotation gives its second user (payments_api_clone) a password, and "
        "the migrations create that user",
    ),
    CreationOrder(
        name="secret rotation after its value, its function's policy and invoke permission",
        waiter=SECRET_ROTATION,
        prerequisites=rotation_prerequisites,
        why="Secrets Manager starts a rotation at once: it invokes the function, which reads the "
        "secret's current value",
    ),
)


def order_problems(graph: Graph, order: CreationOrder) -> list[str]:
    problems = []
    for waiter in graph.of_type(order.waiter):
        waits_for = ancestors(graph, waiter)
        for prerequisite in order.prerequisites(graph, waiter):
            if prerequisite.urn not in waits_for:
                problems.append(
                    f"{order.name}: {waiter.type} {waiter.name} does not wait for "
                    f"{prerequisite.type} {prerequisite.name} ({order.why})"
                )
    return problems


def check_creation_order(graph: Graph) -> list[str]:
    return [problem for order in ORDERS for problem in order_problems(graph, order)]
