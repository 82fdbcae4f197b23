"""Creation-only settings: marked where a change would replace what holds data, recorded by the
program, and refused by preflight for a deployed stack.

``pulumi stack output --json --stack <stack>`` is played by a runner: it prints the stack's
outputs as one JSON object (``{}`` for a stack never deployed, pulumi/pulumi#2099), and fails
with ``error: no stack named '<stack>' found`` for a stack that does not exist (pulumi/pulumi
``pkg/cmd/pulumi``, ``requireStack``). No Pulumi CLI runs here.

Which inputs force a replacement is the provider's schema (pulumi-aws bridges
hashicorp/terraform-provider-aws; ``ForceNew`` in its ``internal/service/...`` schemas):
``REPLACING_INPUTS`` below lists the ones this program sets; the tests record the program
with a setting changed and look for a change in one of them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from payments_infra.config import SETTINGS, StackConfig
from payments_infra.docs import generate as docs
from payments_infra.offline import creation_settings, preflight, preview_gate
from payments_infra.offline.graph import Graph
from payments_infra.offline.mocks import record_program
from tests.stacks import DNS, EXISTING, VALID_CONFIG, WEB_DIST, ZONES

# type -> the inputs (as the program sets them) whose change replaces the resource, from the
# terraform-provider-aws schemas: rds/cluster.go, rds/cluster_instance.go,
# rds/cluster_parameter_group.go, ec2/vpc_.go, ec2/vpc_subnet.go, ec2/vpc_security_group.go,
# s3/bucket.go, logs/group.go, secretsmanager/secret.go, ecr/repository.go.
REPLACING_INPUTS: dict[str, set[str]] = {
    "aws:rds/cluster:Cluster": {
        "clusterIdentifier",
        "engine",
        "engineMode",
        "databaseName",
        "masterUsername",
        "kmsKeyId",
        "dbSubnetGroupName",
        "availabilityZones",
        "storageEncrypted",
    },
    "aws:rds/clusterInstance:ClusterInstance": {
        "identifier",
        "clusterIdentifier",
        "availabilityZone",
        "engine",
        "dbSubnetGroupName",
    },
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": {"family", "name", "description"},
    "aws:ec2/vpc:Vpc": {"cidrBlock"},
    "aws:ec2/subnet:Subnet": {"cidrBlock", "availabilityZoneId", "vpcId"},
    "aws:ec2/securityGroup:SecurityGroup": {"name", "description", "vpcId"},
    "aws:s3/bucket:Bucket": {"bucket"},
    "aws:cloudwatch/logGroup:LogGroup": {"name"},
    "aws:secretsmanager/secret:Secret": {"name"},
    "aws:ecr/repository:Repository": {"name"},
}
PINNED = {**VALID_CONFIG, "payments:availabilityZones": json.dumps(ZONES)}
OTHER_ZONES = ["us-east-1b", "us-east-1c", "us-east-1d"]


def completed(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, err)


class Pulumi:
    """`pulumi stack output --json --stack <stack>`, answering as the CLI does."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        self.asked: list[list[str]] = []

    def __call__(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        self.asked.append(command)
        return self.result


def deployed(**values: str) -> Pulumi:
    recorded = {
        "payments:environmentSuffix": "prod1",
        "payments:vpcCidr": "10.0.0.0/16",
        "payments:availabilityZones": json.dumps(ZONES),
        "payments:dbEngineVersion": "17",
        **values,
    }
    outputs = {"vpc_id": "vpc-0123456789abcdef0", "creation_settings": recorded}
    return Pulumi(completed(0, json.dumps(outputs, indent=2)))


def stack_file(root: Path, **config: str) -> Path:
    settings = {
        "payments:environmentSuffix": "prod1",
        "aws:region": "us-east-1",
        "payments:webDistDir": WEB_DIST,
        **config,
    }
    lines = "".join(f"  {key}: '{value}'\n" for key, value in settings.items())
    (root / "Pulumi.prod.yaml").write_text(f"config:\n{lines}")
    return root


def check(
    root: Path, pulumi: Pulumi, zones_now: Callable[[], list[str] | None] = lambda: ZONES
) -> list[str]:
    return creation_settings.problems(
        root, "prod", run=pulumi, which=lambda _: "/usr/bin/pulumi", zones_now=zones_now
    )


# -- reading the deployed stack ----------------------------------------------------------------


def test_the_deployed_values_are_read_with_pulumi_stack_output(tmp_path: Path) -> None:
    pulumi = deployed()
    assert check(stack_file(tmp_path), pulumi) == []
    assert pulumi.asked == [["/usr/bin/pulumi", "stack", "output", "--json", "--stack", "prod"]]


@pytest.mark.parametrize(
    "result",
    [
        completed(255, err="error: no stack named 'prod' found\n"),  # before stack select
        completed(0, "{}\n"),  # selected, never deployed (or destroyed)
    ],
)
def test_a_stack_never_deployed_has_nothing_to_compare(tmp_path: Path, result: Any) -> None:
    root = stack_file(tmp_path, **{"payments:vpcCidr": "10.9.0.0/16"})
    assert check(root, Pulumi(result)) == []


def test_a_stack_deployed_before_the_output_existed_is_noted_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pulumi = Pulumi(completed(0, json.dumps({"vpc_id": "vpc-0123456789abcdef0"})))
    assert check(stack_file(tmp_path, **{"payments:vpcCidr": "10.9.0.0/16"}), pulumi) == []
    assert "deployed before the creation_settings output existed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("result", "detail"),
    [
        (
            completed(255, err="error: failed to decrypt: incorrect passphrase\n"),
            "error: failed to decrypt: incorrect passphrase",
        ),
        (completed(0, "Current stack outputs (0):"), "its output is not a JSON object"),
    ],
)
def test_unreadable_outputs_stop_with_what_went_wrong(
    tmp_path: Path, result: Any, detail: str
) -> None:
    assert check(stack_file(tmp_path), Pulumi(result)) == [
        f"cannot read stack prod's outputs (`pulumi stack output --json --stack prod`: {detail}), "
        "so its creation-only settings cannot be compared with Pulumi.prod.yaml: fix that, then "
        "run again"
    ]


def test_no_cli_and_no_stack_file_leave_it_to_the_other_checks(tmp_path: Path) -> None:
    pulumi = deployed(**{"payments:environmentSuffix": "other"})
    assert creation_settings.problems(stack_file(tmp_path), "prod", pulumi, lambda _: None) == []
    assert check(tmp_path / "nowhere", pulumi) == []
    assert pulumi.asked == []


# -- refusing a change -------------------------------------------------------------------------


def test_a_changed_suffix_is_refused_in_one_sentence(tmp_path: Path) -> None:
    root = stack_file(tmp_path, **{"payments:environmentSuffix": "prod2"})
    assert check(root, deployed()) == [
        "payments:environmentSuffix is prod2 in Pulumi.prod.yaml, but stack prod was created "
        "with prod1, and it is fixed once deployed (every physical name ends in it, and a new "
        "name is a new resource: the Aurora cluster (`cluster_identifier`) and its instances, "
        "every bucket (`bucket`), log group and secret (`name`) and the ECR repository (`name`) "
        "would be replaced by empty ones): set it back to prod1; to change it, build a new "
        "stack with its own payments:environmentSuffix and move the data there "
        "(docs/deploy.md, Changing a deployed stack)"
    ]


def test_every_creation_only_difference_is_named(tmp_path: Path) -> None:
    root = stack_file(
        tmp_path,
        **{
            "payments:vpcCidr": "10.1.0.0/16",
            "payments:availabilityZones": json.dumps(OTHER_ZONES),
            "payments:dbEngineVersion": "16",
        },
    )
    found = check(root, deployed())
    assert [p.split(" is ", 1)[0] for p in found] == [
        "payments:vpcCidr",
        "payments:availabilityZones",
        "payments:dbEngineVersion",
    ]
    assert found[1].startswith(
        'payments:availabilityZones is ["us-east-1b", "us-east-1c", "us-east-1d"] in '
        'Pulumi.prod.yaml, but stack prod was created with ["us-east-1a", "us-east-1b", '
        '"us-east-1c"]'
    )


def test_only_the_major_engine_version_is_fixed(tmp_path: Path) -> None:
    assert check(stack_file(tmp_path, **{"payments:dbEngineVersion": "17.6"}), deployed()) == []
    [problem] = check(stack_file(tmp_path, **{"payments:dbEngineVersion": "16.9"}), deployed())
    assert problem.startswith(
        "payments:dbEngineVersion is 16 in Pulumi.prod.yaml, but stack prod was created with 17"
    )


def test_zones_looked_up_elsewhere_than_the_stack_was_built_are_pinned_back(
    tmp_path: Path,
) -> None:
    root = stack_file(tmp_path)
    assert check(root, deployed(), zones_now=lambda: ZONES) == []
    [problem] = check(root, deployed(), zones_now=lambda: OTHER_ZONES)
    built = json.dumps(ZONES)
    assert problem.startswith(
        "payments:availabilityZones is not set in Pulumi.prod.yaml, so the stack looks the "
        'zones up, and in this account the look-up now chooses ["us-east-1b", "us-east-1c", '
        f'"us-east-1d"], but stack prod was built in {built}'
    )
    assert problem.endswith(
        f"pin them with `pulumi config set --stack prod payments:availabilityZones '{built}'`, "
        "then run again (docs/deploy.md, Changing a deployed stack)"
    )
    # When AWS cannot say, the zones are not compared (preflight's zone checks say why).
    assert check(root, deployed(), zones_now=lambda: None) == []


def test_preflight_runs_the_check_for_up() -> None:
    # The one line preflight holds; the check itself is tested above.
    assert "creation_settings.problems(root, stack)" in Path(preflight.__file__).read_text()


# -- what the program records ------------------------------------------------------------------


def test_the_program_records_what_preflight_compares(recorded_graph: Graph) -> None:
    recorded = recorded_graph.stack_outputs["creation_settings"]
    config = StackConfig.from_mapping(VALID_CONFIG, project="payments", stack="test")
    assert recorded == creation_settings.configured_settings(config, lambda: ZONES)
    assert recorded == {
        "payments:environmentSuffix": "test1",
        "payments:vpcCidr": "10.0.0.0/16",
        "payments:availabilityZones": json.dumps(ZONES),
        "payments:dbEngineVersion": "17",
    }
    assert all(isinstance(v, str) for v in recorded.values()), "plain text, nothing secret"


def test_the_marked_settings_are_these() -> None:
    assert [s.key for s in SETTINGS if s.creation_only] == [
        "payments:environmentSuffix",
        "payments:vpcCidr",
        "payments:availabilityZones",
        "payments:dbEngineVersion",
    ]


# -- why these and not others: the program recorded with one setting changed -------------------

_graphs: dict[str, Graph] = {}


def _graph(config: dict[str, str]) -> Graph:
    key = json.dumps(config, sort_keys=True)
    if key not in _graphs:
        _graphs[key] = record_program(config, stack="test")
    return _graphs[key]


def replaced(before: Graph, after: Graph) -> dict[str, set[str]]:
    """URN -> the replacing inputs that differ; ``{"(gone)"}`` for a resource no longer made."""
    now = {r.urn: r for r in after}
    found: dict[str, set[str]] = {}
    for old in before:
        new = now.get(old.urn)
        if new is None:
            found[old.urn] = {"(gone)"}
            continue
        keys = REPLACING_INPUTS.get(old.type, set()) - set(old.ignore_changes)
        changed = {k for k in keys if old.inputs.get(k) != new.inputs.get(k)}
        if changed:
            found[old.urn] = changed
    return found


def _stateful(graph: Graph, urns: dict[str, set[str]]) -> dict[str, set[str]]:
    types = {r.urn: r.type for r in graph}
    return {
        urn: keys
        for urn, keys in urns.items()
        if types[urn] in preview_gate.STATEFUL
        and (types[urn], urn.rsplit("::", 1)[1]) not in preview_gate.REBUILT
    }


def _names(urns: dict[str, set[str]]) -> set[str]:
    return {urn.rsplit("::", 1)[1] for urn in urns}


def test_a_new_suffix_replaces_the_cluster_and_everything_named() -> None:
    after = _graph({**PINNED, "payments:environmentSuffix": "test2"})
    lost = _stateful(_graph(PINNED), replaced(_graph(PINNED), after))
    assert {"database-cluster", "database-writer", "database-reader", "image-repository"} <= (
        _names(lost)
    )
    secrets = {f"database-{role}-credentials" for role in ("master", "app", "keys")}
    assert {*secrets, "alb-logs", "network-flow-logs"} <= _names(lost)


def test_a_new_vpc_range_replaces_the_network_the_database_stands_in() -> None:
    before = _graph(PINNED)
    change = replaced(before, _graph({**PINNED, "payments:vpcCidr": "10.1.0.0/16"}))
    assert {"network-vpc", "network-private-us-east-1a"} <= _names(change)
    # The database's subnet group and cluster stand on those subnets (AWS will not move them).
    group = next(r for r in before.of_type("aws:rds/subnetGroup:SubnetGroup"))
    subnets = {u for u in change if "aws:ec2/subnet:Subnet" in u}
    assert subnets & set(group.dependencies)


def test_other_zones_replace_the_aurora_instances() -> None:
    after = _graph({**PINNED, "payments:availabilityZones": json.dumps(OTHER_ZONES)})
    lost = _stateful(_graph(PINNED), replaced(_graph(PINNED), after))
    assert {"database-writer", "database-reader"} <= _names(lost)


def test_a_new_major_version_changes_the_parameter_group_family_only() -> None:
    before = _graph(PINNED)
    after = _graph({**PINNED, "payments:dbEngineVersion": "16"})
    change = replaced(before, after)
    assert _names(change) == {"database-params"}
    assert change[next(iter(change))] == {"family"}
    # The cluster's engine_version changes too, but the program leaves it to Aurora.
    [cluster] = before.of_type("aws:rds/cluster:Cluster")
    assert "engineVersion" in cluster.ignore_changes


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(DNS, id="certificate mode 1"),
        pytest.param(EXISTING, id="certificate mode 2"),
        pytest.param({"payments:dbMinCapacity": "2"}, id="dbMinCapacity"),
        pytest.param({"payments:dbBackupRetentionDays": "14"}, id="dbBackupRetentionDays"),
        pytest.param({"payments:apiCpu": "1024", "payments:apiMemory": "2048"}, id="apiCpu"),
        pytest.param({"payments:apiCpuArchitecture": "X86_64"}, id="apiCpuArchitecture"),
        pytest.param({"payments:wafRateLimit": "500"}, id="wafRateLimit"),
    ],
)
def test_settings_not_marked_replace_nothing_that_holds_data(change: dict[str, str]) -> None:
    before = _graph(PINNED)
    assert _stateful(before, replaced(before, _graph({**PINNED, **change}))) == {}


def test_the_settings_table_marks_exactly_the_creation_only_settings() -> None:
    marked = [
        line.split("`")[1]
        for line in docs.settings_table().splitlines()
        if "**Fixed once deployed**" in line
    ]
    assert marked == [s.key for s in SETTINGS if s.creation_only]
    assert all(
        "(deploy.md#changing-a-deployed-stack)" in docs.described(s)
        for s in SETTINGS
        if s.creation_only
    )
