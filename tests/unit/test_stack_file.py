"""Stack files: a broken file, a key set twice or a bad stack name is one sentence, not a trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from payments_infra.offline.stack_file import (
    StackFileError,
    read_stack_config,
    stack_file_path,
    stack_name_problem,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text)
    return path


def test_values_arrive_as_pulumi_hands_them_to_the_program(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "config:\n"
        "  payments:environmentSuffix: dev1\n"
        "  payments:alertEmails: [a@example.com]\n"
        "  payments:dbMaxCapacity: 8\n"
        "  payments:token:\n"
        "    secure: AAABAC0ffee\n",
    )
    assert read_stack_config(path) == {
        "payments:environmentSuffix": "dev1",
        "payments:alertEmails": '["a@example.com"]',
        "payments:dbMaxCapacity": "8",
        "payments:token": "[secret placeholder]",
    }


def test_broken_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path, "config:\n  payments:environmentSuffix: dev1\n   aws:region: [us-east-1\n"
    )
    with pytest.raises(StackFileError) as raised:
        read_stack_config(path)
    message = str(raised.value)
    assert message.startswith("Pulumi.t.yaml:3:"), message
    assert "\n" not in message


def test_a_key_set_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "config:\n"
        "  payments:vpcCidr: 10.0.0.0/16\n"
        "  payments:environmentSuffix: dev1\n"
        "  payments:vpcCidr: 10.9.0.0/16\n",
    )
    with pytest.raises(StackFileError) as raised:
        read_stack_config(path)
    assert str(raised.value) == (
        "Pulumi.t.yaml:4:3: key payments:vpcCidr is set twice (first on line 2); keep one"
    )


def test_a_missing_stack_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match=r"Pulumi.t.yaml does not exist: copy Pulumi.dev.yaml"):
        read_stack_config(tmp_path / "Pulumi.t.yaml")


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackFileError, match="must be a YAML mapping"):
        read_stack_config(write(tmp_path, "- a\n- b\n"))


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        (
            "",
            "STACK must be a stack name such as dev (the program reads Pulumi.<STACK>.yaml); "
            "got an empty value",
        ),
        ("dev 1", "STACK must hold only letters, digits, '-', '_' and '.'"),
        ("../etc", "STACK must hold only letters"),
    ],
)
def test_bad_stack_names_are_refused(stack: str, message: str) -> None:
    problem = stack_name_problem(stack)
    assert problem is not None and problem.startswith(message)
    with pytest.raises(StackFileError):
        stack_file_path(Path("."), stack)


def test_good_stack_names_map_to_their_file() -> None:
    assert stack_file_path(Path("/repo"), "prod.eu_1-a") == Path("/repo/Pulumi.prod.eu_1-a.yaml")
