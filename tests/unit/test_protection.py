"""payments:protectData: exactly the database's protections when on, none when off; the graph
check and the policy rule hold a stack to that. What refuses to destroy a protected stack is
test_protection_guards.py's."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.config.name_rules import RDS_IDENTIFIER
from payments_infra.config.naming import MAX_SUFFIX_LENGTH, Names, physical_name
from payments_infra.offline import checks
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from policy.offline_validation import args_for, violations
from policy.rules import RULES
from tests.graph_queries import mandatory_rule_violations
from tests.graph_snapshot import snapshot
from tests.stacks import SUFFIX, VALID_CONFIG, ZONES

PROTECTED_CONFIG = {**VALID_CONFIG, "payments:protectData": "true"}
CLUSTER = "aws:rds/cluster:Cluster"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
SECRET = "aws:secretsmanager/secret:Secret"

# What payments:protectData changes, and nothing else: (type, logical name) -> the inputs.
PROTECTED_INPUTS = {
    (CLUSTER, "database-cluster"): {
        "deletionProtection": (False, True),
        "skipFinalSnapshot": (True, False),
        "finalSnapshotIdentifier": (None, f"aurora-cluster-{SUFFIX}-final"),
    },
    (KEY, "database-key"): {},
    (ALIAS, "database-key-alias"): {},
    # The master's secret only: a login's secret gets its password set by the next migration
    # step, so it stays unprotected (tests below).
    (SECRET, "database-master-credentials"): {"recoveryWindowInDays": (0, 7)},
}
LOGIN_SECRETS = ("database-app-credentials", "database-keys-credentials")
DESTROYABLE = next(rule for rule in RULES if rule.name == "destroyable")


@pytest.fixture(scope="module")
def recorded_protected_graph() -> Graph:
    """The program with payments:protectData on. Never mutate it: use ``protected_graph``."""
    return record_program(PROTECTED_CONFIG, stack="test")


@pytest.fixture
def protected_graph(recorded_protected_graph: Graph) -> Graph:
    return copy.deepcopy(recorded_protected_graph)


def the(graph: Graph, type_token: str, name: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_token) if r.name == name]
    return found


def failing(graph: Graph) -> dict[str, list[str]]:
    return {r.name: r.problems for r in checks.run_checks(graph, SUFFIX, ZONES) if not r.passed}


# -- the setting ---------------------------------------------------------------------------------


def load(**raw: str) -> StackConfig:
    return StackConfig.from_mapping({**VALID_CONFIG, **raw}, project="payments", stack="test")


def test_the_setting_is_off_by_default_and_takes_true_or_false() -> None:
    assert load().database.protect_data is False
    assert load(**{"payments:protectData": "true"}).database.protect_data is True
    with pytest.raises(ConfigError) as raised:
        load(**{"payments:protectData": "yes"})
    assert raised.value.problems == ['payments:protectData must be true or false; got "yes"']


# -- what the program registers ------------------------------------------------------------------


def test_unprotected_nothing_is_protected_and_nothing_blocks_a_destroy(graph: Graph) -> None:
    assert [r.name for r in graph if r.protect] == []
    cluster = the(graph, CLUSTER, "database-cluster")
    assert "finalSnapshotIdentifier" not in cluster.inputs


def test_protected_exactly_the_cluster_key_and_master_secret_change(
    graph: Graph, protected_graph: Graph
) -> None:
    before, after = snapshot(graph), snapshot(protected_graph)
    assert after["outputs"] == before["outputs"]
    assert sorted(after["resources"]) == sorted(before["resources"])  # none added or moved
    changed = {}
    for urn, now in after["resources"].items():
        old = before["resources"][urn]
        if now == old:
            continue
        assert {k for k in now if now[k] != old[k]} <= {"inputs", "protect"}, now["name"]
        assert (old["protect"], now["protect"]) == (False, True), now["name"]
        keys = set(old["inputs"]) | set(now["inputs"])
        changed[(now["type"], now["name"])] = {
            k: (old["inputs"].get(k), now["inputs"].get(k))
            for k in keys
            if old["inputs"].get(k) != now["inputs"].get(k)
        }
    assert changed == PROTECTED_INPUTS


@pytest.mark.parametrize("name", LOGIN_SECRETS)
def test_protected_the_login_secrets_stay_unprotected_and_go_at_once(
    protected_graph: Graph, name: str
) -> None:
    secret = the(protected_graph, SECRET, name)
    assert secret.protect is False
    assert secret.inputs["recoveryWindowInDays"] == 0
    assert the(protected_graph, SECRET, "database-master-credentials").protect is True


def test_the_final_snapshot_name_fits_rds_for_every_suffix() -> None:
    longest = physical_name(Names.db_final_snapshot, "a" * MAX_SUFFIX_LENGTH)
    assert longest == f"aurora-cluster-{'a' * MAX_SUFFIX_LENGTH}-final"
    assert RDS_IDENTIFIER.problems(longest) == []
    assert RDS_IDENTIFIER.max_length == 63  # CreateDBClusterSnapshot's and CopyDBClusterSnapshot's


def test_every_graph_wide_check_passes_on_the_protected_program(protected_graph: Graph) -> None:
    assert failing(protected_graph) == {}


# -- the destroyable check, both ways ------------------------------------------------------------


@pytest.mark.parametrize(("type_token", "name"), sorted(PROTECTED_INPUTS))
def test_a_piece_of_the_data_left_unprotected_is_caught(
    protected_graph: Graph, type_token: str, name: str
) -> None:
    the(protected_graph, type_token, name).protect = False
    assert failing(protected_graph)["destroyable"] == [
        f"{type_token} {name} is not protected, while the rest of the database is "
        "(payments:protectData protects the cluster, its key and the secret together)"
    ]


DATA_CLUSTER = (CLUSTER, "database-cluster")
DATA_SECRET = (SECRET, "database-master-credentials")


@pytest.mark.parametrize(
    ("target", "key", "value", "message"),
    [
        (DATA_CLUSTER, "deletionProtection", False, "deletionProtection must be on"),
        (DATA_CLUSTER, "skipFinalSnapshot", True, "skipFinalSnapshot must be off"),
        (DATA_CLUSTER, "finalSnapshotIdentifier", None, "finalSnapshotIdentifier must name"),
        (DATA_CLUSTER, "finalSnapshotIdentifier", "x--final", "finalSnapshotIdentifier must"),
        (DATA_SECRET, "recoveryWindowInDays", 0, "recoveryWindowInDays must be 7, the key's"),
        (DATA_SECRET, "recoveryWindowInDays", 30, "recoveryWindowInDays must be 7, the key's"),
        ((KEY, "database-key"), "deletionWindowInDays", 30, "deletionWindowInDays must be 7"),
    ],
)
def test_a_protection_missing_or_changed_is_caught(
    protected_graph: Graph, target: tuple[str, str], key: str, value: Any, message: str
) -> None:
    the(protected_graph, *target).inputs[key] = value
    [problem] = failing(protected_graph)["destroyable"]
    assert problem.startswith(f"{target[0]} {target[1]}: {message}")
    assert problem.endswith(f"in a protected stack; got {value}")


@pytest.mark.parametrize(
    "pick",
    [
        lambda g: the(g, KEY, "logs-key-key"),  # another key: a destroy may delete it
        # A login's secret: the next migration step sets a new one's password.
        lambda g: the(g, SECRET, "database-app-credentials"),
        lambda g: the(g, SECRET, "database-keys-credentials"),
        lambda g: g.of_type("aws:rds/clusterInstance:ClusterInstance")[0],
        lambda g: g.of_type("aws:ec2/vpc:Vpc")[0],
    ],
)
def test_protection_beyond_the_data_is_caught(
    protected_graph: Graph, pick: Callable[[Graph], Resource]
) -> None:
    resource = pick(protected_graph)
    resource.protect = True
    assert failing(protected_graph)["destroyable"] == [
        f"{resource.type} {resource.name} is protected (only the database's cluster, key and "
        "secret may be, all together, with payments:protectData)"
    ]


def test_unprotected_a_protected_cluster_alone_makes_the_rest_missing(graph: Graph) -> None:
    the(graph, CLUSTER, "database-cluster").protect = True
    problems = failing(graph)["destroyable"]
    assert {p.split(" is not protected")[0] for p in problems if "is not protected" in p} == {
        f"{KEY} database-key",
        f"{ALIAS} database-key-alias",
        f"{SECRET} database-master-credentials",
    }
    assert any("deletionProtection must be on in a protected stack" in p for p in problems)


# -- the policy rule, one resource at a time -----------------------------------------------------


def test_every_mandatory_rule_passes_on_the_protected_program(protected_graph: Graph) -> None:
    assert mandatory_rule_violations(protected_graph) == {}


@pytest.mark.parametrize(
    ("type_token", "name", "change", "fragment"),
    [
        (CLUSTER, "database-cluster", lambda r: r.inputs.update(deletionProtection=False), "on"),
        (CLUSTER, "database-cluster", lambda r: r.inputs.pop("finalSnapshotIdentifier"), "name"),
        (
            SECRET,
            "database-master-credentials",
            lambda r: r.inputs.update(recoveryWindowInDays=0),
            "7",
        ),
        (
            SECRET,
            "database-master-credentials",
            lambda r: setattr(r, "protect", False),
            "must be 0",
        ),
        (
            SECRET,
            "database-app-credentials",
            lambda r: setattr(r, "protect", True),
            "is protected",
        ),
        (CLUSTER, "database-cluster", lambda r: setattr(r, "protect", False), "must be off"),
        ("aws:ec2/vpc:Vpc", "network-vpc", lambda r: setattr(r, "protect", True), "is protected"),
    ],
)
def test_the_rule_holds_each_resource_to_all_or_nothing(
    protected_graph: Graph,
    type_token: str,
    name: str,
    change: Callable[[Resource], Any],
    fragment: str,
) -> None:
    resource = the(protected_graph, type_token, name)
    assert violations(DESTROYABLE, args_for(resource, protected_graph)) == []
    change(resource)
    found = violations(DESTROYABLE, args_for(resource, protected_graph))
    assert any(fragment in f for f in found), found
