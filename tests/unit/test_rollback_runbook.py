"""The rollback runbook (docs/deploy.md, "Rolling back") runs as written: every `aws` command
is an operation of the AWS API (botocore's model, as the CLI is generated from it) with flags
it takes, the names it gives are the ones the program creates (rendered with the test suffix
and compared with the recorded graph), and every setting and make target it names exists."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from payments_infra import REPO_ROOT
from payments_infra.config import SETTINGS
from payments_infra.offline.graph import Graph, Resource
from tests.graph_queries import only
from tests.stacks import SUFFIX

DEPLOY = REPO_ROOT / "docs" / "deploy.md"
FENCE = re.compile(r"^```(?:bash|sh)?\n(.*?)^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# The CLI's own options, on any command (paginated ones take the paging options).
GLOBAL_OPTIONS = {
    "--query",
    "--output",
    "--region",
    "--profile",
    "--max-items",
    "--page-size",
    "--cli-binary-format",
}
# The CLI's name of a service, where botocore's differs.
SERVICES = {"s3api": "s3"}


def section(title: str, level: str = "##") -> str:
    """The Markdown of one section of deploy.md, its subsections included (a `#` line inside
    a code block is a comment, not a heading)."""
    in_fence, taken = False, list[str]()
    for line in DEPLOY.read_text().splitlines(keepends=True):
        heading = not in_fence and re.match(r"(#+) ", line)
        if line.startswith("```"):
            in_fence = not in_fence
        if taken and heading and len(heading.group(1)) <= len(level):
            break
        if taken or line == f"{level} {title}\n":
            taken.append(line)
    assert taken, f"deploy.md has no section {level} {title}"
    return "".join(taken)


ROLLING_BACK = section("Rolling back")
DESTROY_LEAVES = section("What a destroy leaves", "###")


@dataclass(frozen=True)
class Command:
    words: list[str]

    @property
    def flags(self) -> dict[str, str | None]:
        """--flag -> its value (None for a switch)."""
        found: dict[str, str | None] = {}
        for index, word in enumerate(self.words):
            if word.startswith("--"):
                following = self.words[index + 1] if index + 1 < len(self.words) else None
                found[word] = None if following is None or following.startswith("--") else following
        return found


def commands(markdown: str) -> list[Command]:
    """Each command of the fenced shell blocks (pipes split them) and of the code spans."""
    found = []
    for block in FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():  # continuations joined
            words: list[str] = []
            for word in [*shlex.split(line, comments=True), "|"]:
                if word in ("|", "||", "&&"):
                    if words:
                        found.append(Command(words))
                    words = []
                else:
                    words.append(word)
    prose = FENCE.sub("", markdown)
    found += [Command(shlex.split(span)) for span in CODE_SPAN.findall(prose)]
    return found


def aws_commands(markdown: str) -> list[Command]:
    return [c for c in commands(markdown) if c.words[:1] == ["aws"]]


@cache
def _session() -> Any:
    return botocore.session.get_session()


def operation_of(service: str, command: list[str]) -> Any:
    """botocore's operation model for `aws <service> <command...>` (a waiter: its operation)."""
    model = _session().get_service_model(service)
    if command[0] == "wait":
        waiters = _session().get_waiter_model(service)
        names = {xform_name(name, "-"): name for name in waiters.waiter_names}
        assert command[1] in names, f"aws {service} wait {command[1]}: no such waiter"
        return model.operation_model(waiters.get_waiter(names[command[1]]).operation)
    names = {xform_name(name, "-"): name for name in model.operation_names}
    assert command[0] in names, f"aws {service} {command[0]}: no such operation"
    return model.operation_model(names[command[0]])


def check_command(command: Command) -> None:
    service, *rest = command.words[1:]
    operation = operation_of(SERVICES.get(service, service), rest)
    members = operation.input_shape.members if operation.input_shape else {}
    takes = {f"--{xform_name(member, '-')}" for member in members} | GLOBAL_OPTIONS
    takes |= {  # a boolean member is also switched off with --no-<name>
        f"--no-{xform_name(member, '-')}"
        for member, shape in members.items()
        if shape.type_name == "boolean"
    }
    given = set(command.flags)
    where = " ".join(command.words[:4])
    assert given <= takes, f"{where}: {sorted(given - takes)} not among {sorted(takes)}"
    if given:  # a span naming only the command (`aws ecs describe-tasks`) is not a call
        required = operation.input_shape.required_members if operation.input_shape else []
        missing = {f"--{xform_name(m, '-')}" for m in required} - given
        assert not missing, f"{where}: misses {sorted(missing)}"


@pytest.mark.parametrize(
    "command",
    aws_commands(ROLLING_BACK) + aws_commands(DESTROY_LEAVES),
    ids=lambda c: " ".join(c.words[1:4]),
)
def test_every_aws_command_is_an_api_operation_with_flags_it_takes(command: Command) -> None:
    check_command(command)


def test_the_checker_refuses_what_the_cli_would() -> None:
    for wrong in (
        "aws ecs update-service --cluster c --service s --task-def api-x:1",  # no such flag
        "aws ecs update-services --cluster c --service s",  # no such operation
        "aws ecs wait service-stable --cluster c --services s",  # no such waiter
        "aws ecs describe-task-definition --query x",  # the required flag missing
    ):
        with pytest.raises(AssertionError):
            check_command(Command(shlex.split(wrong)))


def rendered(value: str) -> str:
    return value.replace("<suffix>", SUFFIX)


# Each flag of the runbook that names something of the stack -> that thing in the graph.
NAMED_BY: dict[str, tuple[str, str]] = {
    "--cluster": ("aws:ecs/cluster:Cluster", "name"),
    "--service": ("aws:ecs/service:Service", "name"),
    "--services": ("aws:ecs/service:Service", "name"),
    "--task-definition": ("aws:ecs/taskDefinition:TaskDefinition", "family"),
    "--task-definitions": ("aws:ecs/taskDefinition:TaskDefinition", "family"),
    "--family-prefix": ("aws:ecs/taskDefinition:TaskDefinition", "family"),
    "--repository-name": ("aws:ecr/repository:Repository", "name"),
}


def service_task_definition(graph: Graph) -> Resource:
    """The task definition the ECS service runs: the API's (the stack has two more, the
    one-off tasks', which a rollback does not touch)."""
    arn = only(graph, "aws:ecs/service:Service").inputs["taskDefinition"]
    (task,) = [
        t for t in graph.of_type("aws:ecs/taskDefinition:TaskDefinition") if t.outputs["arn"] == arn
    ]
    return task


def test_the_runbook_names_what_the_program_creates(recorded_graph: Graph) -> None:
    seen = set()
    for command in aws_commands(ROLLING_BACK) + aws_commands(DESTROY_LEAVES):
        for flag, value in command.flags.items():
            if flag not in NAMED_BY or value is None:
                continue
            type_token, name_input = NAMED_BY[flag]
            name = rendered(value).split(":")[0]  # a task definition is family:revision
            if type_token == "aws:ecs/taskDefinition:TaskDefinition":
                # The family the service runs, which the rollback points it at again.
                expected = service_task_definition(recorded_graph).inputs[name_input]
            else:
                expected = only(recorded_graph, type_token).inputs[name_input]
            assert name == expected, (flag, value)
            seen.add(flag)
    # The emergency path needs every one of these: none may drop out of the runbook unseen.
    assert seen >= {
        "--cluster",
        "--service",
        "--services",
        "--task-definition",
        "--family-prefix",
        "--repository-name",
    }


def test_the_emergency_path_points_the_service_at_a_revision_and_waits() -> None:
    calls = {
        " ".join(c.words[1:4])
        for c in aws_commands(section("Emergency: the previous task definition revision", "###"))
    }
    assert {"ecs update-service --cluster", "ecs wait services-stable"} <= calls
    (update,) = [c for c in aws_commands(ROLLING_BACK) if c.words[1:3] == ["ecs", "update-service"]]
    assert update.flags["--task-definition"] == "api-<suffix>:<rev>"


def test_the_image_the_runbook_reads_is_the_service_tasks_only_container(
    recorded_graph: Graph,
) -> None:
    (describe,) = [
        c for c in aws_commands(ROLLING_BACK) if c.words[1:3] == ["ecs", "describe-task-definition"]
    ]
    assert describe.flags["--query"] == "taskDefinition.containerDefinitions[0].image"
    definitions = json.loads(service_task_definition(recorded_graph).inputs["containerDefinitions"])
    assert [d["name"] for d in definitions] == ["api"]


def test_every_setting_the_runbook_names_exists() -> None:
    named = set(re.findall(r"payments:[A-Za-z]+", ROLLING_BACK))
    assert "payments:apiImageTag" in named
    assert named - {s.key for s in SETTINGS} == set()


def test_every_make_target_the_runbook_runs_exists() -> None:
    targets = {
        c.words[1] for c in commands(ROLLING_BACK) if c.words[:1] == ["make"] and len(c.words) > 1
    }
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert targets and all(re.search(rf"^{t}:", makefile, re.MULTILINE) for t in targets)
