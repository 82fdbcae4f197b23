"""payments:environment: the Environment tag on every resource, and only the three names."""

from __future__ import annotations

import copy
import json
import re

import pytest

from payments_infra import REPO_ROOT
from payments_infra.config import Environment, StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline.checks_conventions import (
    aws_resources,
    check_tags,
    effective_tags,
    is_taggable,
)
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.stacks import VALID_CONFIG


def environment_tags(graph: Graph) -> set[str]:
    """The Environment tag of every taggable resource, as AWS will store it."""
    taggable = [r for r in aws_resources(graph) if is_taggable(r.type)]
    assert len(taggable) >= 20
    return {effective_tags(graph, r).get("Environment", "") for r in taggable}


@pytest.fixture(scope="module")
def staging_graph() -> Graph:
    return record_program({**VALID_CONFIG, "payments:environment": "staging"}, stack="test")


def test_without_the_setting_every_resource_is_production(recorded_graph: Graph) -> None:
    assert StackConfig.from_mapping(VALID_CONFIG, project="p", stack="s").environment == (
        Environment.PRODUCTION
    )
    assert environment_tags(recorded_graph) == {"production"}


def test_the_environment_tag_follows_the_setting(staging_graph: Graph) -> None:
    assert environment_tags(staging_graph) == {"staging"}
    (provider,) = staging_graph.of_type("pulumi:providers:aws")
    raw = provider.inputs["defaultTags"]
    tags = (json.loads(raw) if isinstance(raw, str) else raw)["tags"]
    assert tags["Environment"] == "staging" and tags["CostCenter"] == "payments"
    assert check_tags(staging_graph) == []


@pytest.mark.parametrize("value", ["prod", "Production", "dev", ""])
def test_a_bad_environment_is_a_clear_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_mapping(
            {**VALID_CONFIG, "payments:environment": value}, project="p", stack="s"
        )
    message = f'payments:environment must be one of production, staging, development; got "{value}"'
    assert message in str(raised.value)


def test_the_tag_check_refuses_an_environment_outside_the_three(recorded_graph: Graph) -> None:
    graph = copy.deepcopy(recorded_graph)
    (provider,) = graph.of_type("pulumi:providers:aws")
    raw = provider.inputs["defaultTags"]
    document = json.loads(raw) if isinstance(raw, str) else copy.deepcopy(raw)
    document["tags"]["Environment"] = "prod"
    provider.inputs["defaultTags"] = json.dumps(document)
    problems = check_tags(graph)
    assert len(problems) >= 20
    assert all(
        p.endswith("has Environment=prod; required one of production, staging, development")
        for p in problems
    ), problems[:3]


def test_the_environments_page_is_linked_and_names_the_setting() -> None:
    page = (REPO_ROOT / "docs" / "environments.md").read_text()
    for environment in Environment:
        assert f"`{environment.value}`" in page, environment
    assert "payments:environment" in page
    readme = (REPO_ROOT / "README.md").read_text()
    assert re.search(r"^\| \[docs/environments\.md\]\(docs/environments\.md\) \|", readme, re.M)
    assert "(environments.md)" in (REPO_ROOT / "docs" / "deploy.md").read_text()
