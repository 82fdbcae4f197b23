"""payments:protectData: exactly the database's protections when on, none when off; the graph
check and the policy rule hold a stack to that; `make down` refuses a protected stack."""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from payments_infra import REPO_ROOT
from payments_infra.aws.naming import MAX_SUFFIX_LENGTH, RDS_IDENTIFIER, physical_name
from payments_infra.config import StackConfig
from payments_infra.config.errors import ConfigError
from payments_infra.offline import checks, preflight
from payments_infra.offline.graph import Graph, Resource
from payments_infra.offline.mocks import record_program
from payments_infra.offline.production import policy_pack_args
from payments_infra.offline.protection import protected_data_problems, protects_data, refusal
from policy.rules import RULES, args_for, violations
from tests.aws_stubs import stubbed
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
    longest = physical_name("db_final_snapshot", "a" * MAX_SUFFIX_LENGTH)
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


# -- make down -----------------------------------------------------------------------------------

REFUSAL = (
    "Pulumi.prod.yaml sets payments:protectData to true, so `make down` refuses to destroy the "
    "database with its backups: to destroy it, keep the data first with `make keep-data "
    "STACK=prod KEY_ARN=<a KMS key the stack does not own>` (or skip that to lose it), then run "
    "`pulumi config set --stack prod payments:protectData false`, commit Pulumi.prod.yaml "
    "(`make up` deploys commits only), `make up STACK=prod` (which lifts the protection) and "
    "`make down STACK=prod` (docs/deploy.md#protecting-the-data)"
)


@pytest.mark.parametrize("value", ["true", True])  # as `pulumi config set` writes it, or YAML's
def test_down_refuses_a_protected_stack_with_the_steps(value: Any) -> None:
    document = {"config": {"payments:protectData": value}}
    assert protected_data_problems(document, "prod", "down") == [REFUSAL] == [refusal("prod")]


@pytest.mark.parametrize(
    ("config", "command"),
    [
        ({"payments:protectData": "true"}, "up"),
        ({"payments:protectData": "true"}, "verify"),
        ({"payments:protectData": "false"}, "down"),
        ({"payments:protectData": False}, "down"),
        ({}, "down"),
    ],
)
def test_down_of_an_unprotected_stack_and_other_commands_go_on(
    config: dict[str, Any], command: str
) -> None:
    assert protected_data_problems({"config": config}, "prod", command) == []


def test_a_value_that_is_not_a_boolean_stops_down_too() -> None:
    document = {"config": {"payments:protectData": "yes"}}
    assert protected_data_problems(document, "prod", "down") == [
        'Pulumi.prod.yaml: payments:protectData must be true or false; got "yes", so `make '
        "down` cannot tell whether the database is protected: set it to true or false "
        "(docs/deploy.md#protecting-the-data), then run again"
    ]


def test_preflight_for_down_says_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text(
        'config:\n  payments:environmentSuffix: prod1\n  payments:protectData: "true"\n'
    )
    sts, stub = stubbed("sts")
    for _ in range(2):  # AWS says no: nothing else is looked up
        stub.add_client_error("get_caller_identity", "InvalidClientTokenId", http_status_code=403)
    monkeypatch.setattr(preflight, "aws_client", lambda service: sts)
    with stub:
        assert REFUSAL in preflight.problems("prod", "down", root=tmp_path)
        assert REFUSAL not in preflight.problems("prod", "verify", root=tmp_path)


# -- the runbook's commands ----------------------------------------------------------------------

GLOBAL_OPTIONS = {"query", "output", "region", "profile"}


def section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def aws_commands(markdown: str) -> list[list[str]]:
    """Every `aws ...` command of the bash blocks, the ones inside $(...) included."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)
    commands = []
    for block in blocks:
        for written in block.replace("\\\n", " ").splitlines():
            line = written.split(" # ")[0].strip()
            inner = re.findall(r"\$\((aws [^()]*)\)", line)
            outer = re.sub(r"\$\([^()]*\)", "X", line)
            for command in ([outer] if outer.startswith("aws ") else []) + inner:
                commands.append(shlex.split(command))
    return commands


def test_every_aws_command_of_the_recipe_and_the_restore_is_in_the_api_model() -> None:
    session = botocore.session.get_session()
    text = section((REPO_ROOT / "docs" / "deploy.md").read_text(), "## Protecting the data")
    commands = aws_commands(text)
    assert len(commands) >= 12
    problems = []
    for words in commands:
        service, verb, *rest = words[1:]
        model = session.get_service_model(service)
        if verb == "wait":
            waiter_name, *rest = rest
            waiters = session.get_waiter_model(service)
            by_cli = {xform_name(w, "-"): w for w in waiters.waiter_names}
            verb = xform_name(waiters.get_waiter(by_cli[waiter_name]).operation, "-")
        operations = {xform_name(o, "-"): o for o in model.operation_names}
        if verb not in operations:
            problems.append(f"aws {service} {verb}: no such operation")
            continue
        members = model.operation_model(operations[verb]).input_shape.members
        options = {xform_name(m, "-"): shape for m, shape in members.items()}
        for word in rest:
            if not word.startswith("--") or word[2:] in GLOBAL_OPTIONS:
                continue
            name = word[2:]
            if name.startswith("no-") and name[3:] in options:
                name = name[3:]
                if options[name].type_name != "boolean":
                    problems.append(f"aws {service} {verb} {word}: not a boolean")
            elif name not in options:
                problems.append(f"aws {service} {verb} {word}: no such option")
    assert problems == []


def test_the_refusal_and_the_make_target_point_at_what_exists() -> None:
    deploy = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for heading in ("## Protecting the data", "### Keep the data, then destroy"):
        assert f"\n{heading}\n" in deploy
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(
        r"\nkeep-data: venv\n\t@\$\(PY\) -m payments_infra\.offline\.keep_data "
        r'--stack "\$\(STACK\)" --key-arn "\$\(KEY_ARN\)"\n',
        makefile,
    )


@pytest.mark.parametrize(
    ("config", "protected"),
    [
        ({}, False),
        ({"payments:protectData": "false"}, False),
        ({"payments:protectData": False}, False),  # a YAML boolean in the stack file
        ({"payments:protectData": "true"}, True),
        ({"payments:protectData": True}, True),
        ({"payments:protectData": "maybe"}, True),  # unreadable: the safe side
    ],
)
def test_every_guard_reads_protect_data_with_the_settings_own_parser(
    config: dict[str, Any], protected: bool
) -> None:
    """release.py (dirty tree) and production.py (policy pack) share one reading of it."""
    assert protects_data(config) is protected
    production_rules = "--policy-pack-config" in policy_pack_args(config, REPO_ROOT)
    assert production_rules is protected
