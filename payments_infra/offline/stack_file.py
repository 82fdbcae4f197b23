"""Reading ``Pulumi.<stack>.yaml`` offline, as the Pulumi CLI hands it to the program.

The offline plan and the deploy preflight both read the stack file before anything else, so a
broken file stops them with one line that names the file, line and column, never a PyYAML
traceback. A key written twice is refused: YAML loaders silently keep the last one, so the
value a reader sees first is not the one that is deployed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

# Pulumi's rule for stack names (`pulumi stack init`): letters, digits, '-', '_' and '.'.
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class StackFileError(ValueError):
    """A stack name or stack file that cannot be used; the message is one sentence."""


def stack_name_problem(stack: str) -> str | None:
    """Why ``stack`` is not a usable stack name, or None."""
    if not stack:
        return (
            "STACK must be a stack name such as dev (the program reads Pulumi.<STACK>.yaml); "
            "got an empty value"
        )
    if not STACK_NAME.fullmatch(stack):
        return (
            "STACK must hold only letters, digits, '-', '_' and '.' "
            f'(Pulumi\'s stack name rule); got "{stack}"'
        )
    return None


def stack_file_path(root: Path, stack: str) -> Path:
    """``root/Pulumi.<stack>.yaml``, after checking the stack name."""
    problem = stack_name_problem(stack)
    if problem:
        raise StackFileError(problem)
    return root / f"Pulumi.{stack}.yaml"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping key written twice."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.MarkedYAMLError(
                problem=f"key {key} is set twice (first on line {first}); keep one",
                problem_mark=key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_unique_mapping,
)


def load_stack_document(path: Path) -> dict[str, Any]:
    """The stack file as a mapping; one-sentence ``StackFileError`` for any problem."""
    if not path.is_file():
        raise StackFileError(
            f"{path.name} does not exist: copy Pulumi.dev.yaml to {path.name} and set "
            "payments:environmentSuffix"
        )
    try:
        document = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise StackFileError(f"{where}: {what}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML ({error})") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name} must be a YAML mapping with a config: section")
    return document


def read_stack_config(path: Path) -> dict[str, str]:
    """A stack file's config as Pulumi hands it to the program: strings, objects as JSON.

    Encrypted values (``secure:``) cannot be read offline; they become a placeholder.
    """
    section = load_stack_document(path).get("config") or {}
    if not isinstance(section, dict):
        raise StackFileError(f"{path.name}: config must be a mapping of key: value")
    config = {}
    for key, value in section.items():
        if isinstance(value, dict) and "secure" in value:
            config[key] = "[secret placeholder]"
        elif isinstance(value, str):
            config[key] = value
        else:
            config[key] = json.dumps(value)
    return config
