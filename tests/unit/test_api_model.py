"""The AWS API-model check: every input against the request shape botocore's models define.

Each kind of rule (pattern, length, enum, range, list size) is shown failing on a graph
broken on purpose, and every test stack is shown clean, with every input accounted for.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from payments_infra.offline.api_calls import API_CALLS
from payments_infra.offline.api_model import (
    _resolve,
    check_api_model,
    check_api_rules,
    input_shape,
)
from payments_infra.offline.aws_patterns import aws_pattern
from payments_infra.offline.graph import Graph, Resource, SecretValue
from tests.stacks import TEST_STACKS

WAF_PATTERN = "^[\\w+=:#@/\\-,\\.][\\w+=:#@/\\-,\\.\\s]+[\\w+=:#@/\\-,\\.]$"
# The descriptions main had before this check: AWS's CreateWebACL and CreateRuleGroup refuse
# each (parentheses, an apostrophe), while the provider and `pulumi preview` let them pass.
REFUSED_DESCRIPTIONS = {
    "frontend-waf": "Public web app and API through CloudFront (PCI DSS 6.4.2)",
    "alb-waf": "The API on its load balancer, whichever way a request comes (PCI DSS 6.4.2)",
    "alb-waf-origin": "Labels the requests that carry CloudFront's origin header",
}


def _resource(graph: Graph, type_: str, name: str | None = None) -> Resource:
    return next(r for r in graph.of_type(type_) if name is None or r.name == name)


@pytest.mark.parametrize("stack", sorted(TEST_STACKS))
def test_every_test_stack_meets_the_api_model_with_every_input_accounted_for(
    stack: str, stack_graphs: Callable[[str], Graph]
) -> None:
    report = check_api_model(stack_graphs(stack))
    assert [str(v) for v in report.violations] == []
    coverage = report.coverage
    # Every AWS type maps to its call; the rest are not AWS API calls, each with its reason.
    assert all(t.startswith("aws:") for t in coverage.types_mapped)
    assert not any(reason.startswith("NOT REVIEWED") for reason in coverage.unmapped.values())
    assert coverage.types_mapped | set(coverage.unmapped) == coverage.types_in_graph
    # Each input value is checked, computed by AWS at deploy time, or reviewed as having no
    # rule in the model: none is silently left out.
    assert {t: paths for t, paths in coverage.unchecked.items() if paths} == {}
    assert coverage.checked + coverage.computed + coverage.no_rule == coverage.inputs
    assert coverage.checked > 0.8 * coverage.inputs


def test_the_descriptions_aws_refused_are_caught(stack_graphs: Callable[[str], Graph]) -> None:
    graph = copy.deepcopy(stack_graphs("dns"))  # mode 1: all three WAF resources
    for name, description in REFUSED_DESCRIPTIONS.items():
        resource = next(r for r in graph if r.name == name)
        resource.inputs["description"] = description
    problems = check_api_rules(graph)
    assert len(problems) == 3, problems
    for name, description in REFUSED_DESCRIPTIONS.items():
        assert any(
            p.startswith(f"{name} (") and repr(description) in p and WAF_PATTERN in p
            for p in problems
        ), name
    assert any("CreateRuleGroup Description" in p for p in problems)
    assert sum("CreateWebACL Description" in p for p in problems) == 2


def _only_problem(graph: Graph) -> str:
    problems = check_api_rules(graph)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_value_over_its_length_is_caught(graph: Graph) -> None:
    alarm = _resource(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")
    alarm.inputs["name"] = "a" * 256
    problem = _only_problem(graph)
    assert "PutMetricAlarm AlarmName" in problem
    assert "length 1 to 255 (is 256)" in problem


def test_a_value_outside_its_enum_is_caught(graph: Graph) -> None:
    listener = _resource(graph, "aws:lb/listener:Listener")
    listener.inputs["protocol"] = "HTTPX"
    problem = _only_problem(graph)
    assert "protocol = 'HTTPX'" in problem
    assert "CreateListener Protocol: one of [" in problem


def test_a_number_outside_its_range_is_caught(graph: Graph) -> None:
    target_group = _resource(graph, "aws:lb/targetGroup:TargetGroup")
    target_group.inputs["healthCheck"]["interval"] = 400.0
    problem = _only_problem(graph)
    assert "healthCheck.interval = 400.0" in problem
    assert "CreateTargetGroup HealthCheckIntervalSeconds: range 5 to 300" in problem


def test_a_list_of_the_wrong_size_is_caught(graph: Graph) -> None:
    function = _resource(graph, "aws:lambda/function:Function")
    function.inputs["architectures"] = ["arm64", "x86_64"]
    problem = _only_problem(graph)
    assert 'architectures = ["arm64", "x86_64"]' in problem
    assert "CreateFunction Architectures: 1 to 1 items (has 2)" in problem


def test_a_json_document_is_walked_as_the_structure_it_encodes(graph: Graph) -> None:
    """Container definitions are a JSON string in the program, a structure in the API."""
    task = _resource(graph, "aws:ecs/taskDefinition:TaskDefinition")
    containers = json.loads(task.inputs["containerDefinitions"])
    containers[0]["logConfiguration"]["logDriver"] = "cloudwatch"
    task.inputs["containerDefinitions"] = json.dumps(containers)
    problem = _only_problem(graph)
    assert "containerDefinitions[0].logConfiguration.logDriver = 'cloudwatch'" in problem
    assert "'awslogs'" in problem


def test_tags_are_checked_as_the_key_value_pairs_aws_takes(graph: Graph) -> None:
    balancer = _resource(graph, "aws:lb/loadBalancer:LoadBalancer")
    balancer.inputs["tags"] = {**balancer.inputs["tags"], "Owner": "payments; on-call"}
    problem = _only_problem(graph)
    assert "tags.Owner = 'payments; on-call'" in problem
    assert "CreateLoadBalancer Tags.Value: pattern" in problem


def test_the_providers_default_tags_are_checked_on_each_resource(graph: Graph) -> None:
    """Default tags reach every taggable resource: ELB's rules apply to them there."""
    provider = next(r for r in graph if r.type == "pulumi:providers:aws")
    default_tags = json.loads(provider.inputs["defaultTags"])
    default_tags["tags"]["CostCenter"] = "payments (PCI)"
    provider.inputs["defaultTags"] = json.dumps(default_tags)
    problems = check_api_rules(graph)
    assert any(
        p.startswith("alb (") and "tags.CostCenter = 'payments (PCI)'" in p for p in problems
    ), problems


def test_a_secret_value_is_checked_but_never_shown(graph: Graph) -> None:
    version = _resource(graph, "aws:secretsmanager/secretVersion:SecretVersion")
    oversized = "s3cr3t" * 11_000  # 66,000 characters, over SecretString's 65,536
    version.inputs["secretString"] = SecretValue(oversized)
    problem = _only_problem(graph)
    assert "secretString = [secret]" in problem
    assert "PutSecretValue SecretString: length 1 to 65536" in problem
    assert "s3cr3t" not in problem


def test_values_aws_computes_at_deploy_time_are_not_judged(graph: Graph) -> None:
    """A mock's placeholder id stands for a value AWS makes; only its real shape is known."""
    alarm = _resource(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")
    before = check_api_model(graph).coverage.computed
    alarm.inputs["name"] = f"{graph.of_type('aws:ec2/vpc:Vpc')[0].id}-" + "a" * 300
    report = check_api_model(graph)
    assert report.violations == []
    assert report.coverage.computed == before + 1


def test_a_resource_type_nobody_reviewed_fails_the_check(graph: Graph) -> None:
    vpc = _resource(graph, "aws:ec2/vpc:Vpc")
    graph.resources.append(
        Resource(
            urn=f"{vpc.urn}-new",
            type="aws:example/widget:Widget",
            name="widget",
            custom=True,
            parent=vpc.parent,
            provider=vpc.provider,
            inputs={"name": "widget-test1"},
        )
    )
    assert _only_problem(graph) == (
        "aws:example/widget:Widget is not mapped to an AWS API call and has no reviewed "
        "reason (api_calls.py)"
    )


def test_an_input_the_table_cannot_place_is_reported_as_unchecked(graph: Graph) -> None:
    vpc = _resource(graph, "aws:ec2/vpc:Vpc")
    vpc.inputs["enableWidgets"] = True
    unchecked = check_api_model(graph).coverage.unchecked
    assert unchecked["aws:ec2/vpc:Vpc"] == {"enableWidgets"}


def test_every_override_names_a_member_the_model_has() -> None:
    """A typo in the reviewed table would silently check nothing: resolve every path."""
    for type_, call in API_CALLS.items():
        for operation in call.operations:
            input_shape(call.service, operation)
            if operation in call.roots:
                _resolve(input_shape(call.service, operation), call.roots[operation])
        for input_path, target in call.members.items():
            if target is None:
                continue
            operation, _, member_path = target.rpartition(":")
            shape = input_shape(call.service, operation or call.operations[0])
            assert _resolve(shape, member_path) is not None, (type_, input_path)


@pytest.mark.parametrize(
    ("java_pattern", "accepted", "refused"),
    [
        # \p{...} classes (ELB, WAF, Logs tag values)
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "Zürich 1", "a;b"),
        # UTF-16 surrogate pairs: every character past the BMP (CloudTrail, Auto Scaling)
        ("^[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*$", "ok 😀", "\x01"),
        # "\w-_" in a Java class is \w, "-" and "_" (CloudWatch Logs)
        ("^[\\w-_]*$", "a-b_c", "a b"),
        # \w is ASCII in AWS's regexes, as in Java and ECMAScript
        (WAF_PATTERN, "abc def", "héllo there"),
    ],
)
def test_aws_patterns_read_as_aws_reads_them(
    java_pattern: str, accepted: str, refused: str
) -> None:
    assert aws_pattern(java_pattern).search(accepted)
    assert not aws_pattern(java_pattern).search(refused)
