"""On-call: every alarm says what to do next, within CloudWatch's limit, and the procedures of
docs/deploy.md name what the program creates and the figures the code has."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

import pytest

from payments_infra import REPO_ROOT
from payments_infra.aws.monitoring import (
    ACTION_LEAD,
    MAX_DESCRIPTION_CHARS,
    AlarmSpec,
    Expression,
    MathAlarmSpec,
    MetricQuery,
    split_description,
)
from payments_infra.components.api.autoscaling import MAX_TASKS, MIN_TASKS
from payments_infra.components.edge.web_acl import RATE_WINDOW_SECONDS
from payments_infra.config.database_settings import DB_MAX_CAPACITY, DB_MIN_CAPACITY
from payments_infra.config.frontend_settings import WAF_RATE_LIMIT
from payments_infra.config.service_settings import API_CPU, API_MEMORY
from payments_infra.docs import generate as docs
from payments_infra.offline.api_model import check_api_rules
from payments_infra.offline.graph import Graph
from tests.stacks import SUFFIX, TEST_STACKS

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DEPLOY = REPO_ROOT / "docs" / "deploy.md"
PLACEHOLDER = "<suffix>"
# A physical name as the pages write it: `aurora-cluster-<suffix>`, `alias/aurora-<suffix>`,
# `/ecs/api-<suffix>`; a name made from one (`aurora-cluster-<suffix>-pitr`) yields its base.
NAME = re.compile(rf"[A-Za-z0-9/_.-]*-{re.escape(PLACEHOLDER)}")


def alarm_descriptions(graph: Graph) -> dict[str, str]:
    return {a.inputs["name"]: a.inputs["alarmDescription"] for a in graph.of_type(ALARM)}


# -- every alarm, an action --------------------------------------------------------------------


@pytest.mark.parametrize("stack", sorted(TEST_STACKS))
def test_every_alarm_of_every_test_stack_says_what_to_do_next_within_the_limit(
    stack: str, stack_graphs: Callable[[str], Graph]
) -> None:
    descriptions = alarm_descriptions(stack_graphs(stack))
    assert len(descriptions) >= 20
    for name, description in descriptions.items():
        reason, action = split_description(description)
        assert reason and len(action.split()) >= 5, f"{name} has no action: {description!r}"
        assert len(description) <= MAX_DESCRIPTION_CHARS, (name, len(description))


def test_an_alarm_without_an_action_cannot_be_declared() -> None:
    with pytest.raises(TypeError, match="action"):
        AlarmSpec(  # type: ignore[call-arg]
            name="a",
            namespace="AWS/X",
            metric="M",
            dimensions={},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="why",
        )
    with pytest.raises(ValueError, match="alarm a: action must say"):
        AlarmSpec(
            name="a",
            namespace="AWS/X",
            metric="M",
            dimensions={},
            comparison="GreaterThanThreshold",
            threshold=0,
            why="why",
            action=" ",
        )
    query = MetricQuery(id="m", namespace="AWS/X", metric="M", dimensions={}, stat="Sum")
    with pytest.raises(ValueError, match="alarm b: action must say"):
        MathAlarmSpec(
            name="b",
            metrics=[query],
            expressions=[Expression(id="e", expression="m", label="m")],
            comparison=">",
            threshold=0,
            why="why",
            action="",
        )


def test_the_description_reads_reason_then_look_first_then_action() -> None:
    spec = AlarmSpec(
        name="a",
        namespace="AWS/X",
        metric="M",
        dimensions={},
        comparison="GreaterThanThreshold",
        threshold=0,
        why="Why.",
        action="Do.",
        runbook="here.",
    )
    assert spec.description == "Why. Look first: here. Action: Do."
    assert split_description(spec.description) == ("Why. Look first: here.", "Do.")
    assert split_description("Why only.") == ("Why only.", "")


def test_the_api_model_check_refuses_a_description_over_cloudwatchs_limit(
    recorded_graph: Graph,
) -> None:
    # What `make plan` (and test_api_model.py, on every test stack) holds every alarm to.
    graph = copy.deepcopy(recorded_graph)
    alarm = graph.of_type(ALARM)[0]
    alarm.inputs["alarmDescription"] = "x" * MAX_DESCRIPTION_CHARS
    assert check_api_rules(graph) == []
    alarm.inputs["alarmDescription"] += "x"
    (problem,) = check_api_rules(graph)
    assert "AlarmDescription" in problem and "1024" in problem, problem


def test_the_alarms_table_has_an_action_for_every_row() -> None:
    rows = docs.alarm_rows(docs._docs_graph())
    assert rows
    for row in rows:
        assert ACTION_LEAD.strip() not in row[4], row[0]  # the action is a column of its own
        assert len(row[5].split()) >= 5, row[0]
    assert "| action |" in docs.alarms_table().splitlines()[0]


# -- the On-call procedures name what the program creates --------------------------------------


def on_call_section() -> str:
    page = DEPLOY.read_text()
    start = page.index("\n## On-call\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end != -1 else len(page)]


def names_created(graph: Graph) -> set[str]:
    """Every name the program gives AWS: each resource's string inputs and its Name tag."""
    found: set[str] = set()
    for resource in graph:
        found |= {v for v in resource.inputs.values() if isinstance(v, str)}
        found.add(resource.tags.get("Name", ""))
    return found - {""}


def unknown_names(text: str, known: set[str], suffix: str = SUFFIX) -> list[str]:
    """The names of ``text`` (with ``<suffix>``) that the program does not create. A name
    written inside a path (`service/ecs-cluster-<suffix>`) counts from any of its ``/``."""
    unknown = []
    for written in NAME.findall(text):
        rendered = written.replace(PLACEHOLDER, suffix)
        tails = [rendered] + [rendered[i + 1 :] for i, c in enumerate(rendered) if c == "/"]
        if not any(tail in known for tail in tails):
            unknown.append(rendered)
    return unknown


@pytest.fixture(scope="module")
def known_names(dns_graph: Graph, stack_graphs: Callable[[str], Graph]) -> set[str]:
    # Mode 1 has the origin header and the forwarder; "everything" the log archive.
    return names_created(dns_graph) | names_created(stack_graphs("everything"))


def test_every_name_in_the_on_call_procedures_is_one_the_program_creates(
    known_names: set[str],
) -> None:
    section = on_call_section()
    assert unknown_names(section, known_names) == []
    written = {w.replace(PLACEHOLDER, SUFFIX) for w in NAME.findall(section)}
    # The restore's own parameters, the secrets and the rotation function are all there.
    assert {
        f"aurora-cluster-{SUFFIX}",
        f"aurora-writer-{SUFFIX}",
        f"aurora-reader-{SUFFIX}",
        f"db-subnet-group-{SUFFIX}",
        f"aurora-cluster-params-{SUFFIX}",
        f"alias/aurora-{SUFFIX}",
        f"db-master-credentials-{SUFFIX}",
        f"db-app-credentials-{SUFFIX}",
        f"db-keys-credentials-{SUFFIX}",
        f"db-password-rotation-{SUFFIX}",
        f"cloudfront-origin-header-{SUFFIX}",
        f"/ecs/api-{SUFFIX}",
        f"alb-log-forwarder-failures-{SUFFIX}",
    } <= written


def test_the_names_in_the_environments_page_are_the_programs(known_names: set[str]) -> None:
    page = (REPO_ROOT / "docs" / "environments.md").read_text()
    assert unknown_names(page, known_names) == []


def test_a_misspelt_name_is_caught(known_names: set[str]) -> None:
    text = (
        "aws rds ... --db-subnet-group-name db-subnet-grp-<suffix> --kms-key-id alias/db-<suffix>"
    )
    assert unknown_names(text, known_names) == [f"db-subnet-grp-{SUFFIX}", f"alias/db-{SUFFIX}"]
    assert unknown_names("--resource-id service/ecs-cluster-<suffix>", known_names) == []


# -- the capacity figures are the code's -------------------------------------------------------


def capacity_rows() -> dict[str, str]:
    section = on_call_section()
    table = section[section.index("### Capacity limits") :].split("\n\n")[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[cells[0]] = " | ".join(cells[1:])
    return rows


def api_setting_default(variable: str) -> str:
    readme = (REPO_ROOT / "app" / "api" / "README.md").read_text()
    match = re.search(rf"^\| `{variable}` \| [^|]+ \| ([^|]+) \|", readme, re.MULTILINE)
    assert match, variable
    return match[1].strip()


def test_the_capacity_limits_are_the_figures_the_code_has() -> None:
    rows = capacity_rows()
    capacity = f"{DB_MIN_CAPACITY.default:g} to {DB_MAX_CAPACITY.default:g} ACU"
    assert f"{MIN_TASKS} to {MAX_TASKS}" in rows["API tasks"]
    assert f"{API_CPU.default} CPU units, {API_MEMORY.default} MiB" in rows["task size"]
    assert f"`DB_POOL_MAX` {api_setting_default('DB_POOL_MAX')} per task" in rows["database pool"]
    pool = int(api_setting_default("DB_POOL_MAX"))
    assert f"{pool * MAX_TASKS} connections at {MAX_TASKS} tasks" in rows["database pool"]
    assert capacity in rows["Aurora capacity"] and capacity in rows["Aurora `max_connections`"]
    assert RATE_WINDOW_SECONDS == 5 * 60
    assert f"{WAF_RATE_LIMIT.default} requests per 5 minutes" in rows["WAF per-IP rate"]
