"""The guards of a protected stack: `make down` refuses it with steps that exist (the runbook's
`aws` commands in botocore's model, the keep-data target), and every guard reads
payments:protectData with the setting's own parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from payments_infra import REPO_ROOT
from payments_infra.offline import preflight
from payments_infra.offline.production import policy_pack_args
from payments_infra.offline.protection import protected_data_problems, protects_data, refusal
from tests.aws_stubs import stubbed

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
