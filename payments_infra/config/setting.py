"""What a declared setting is: ``Setting`` (one key), ``CrossRule`` (a rule over several keys).

A ``Setting`` holds everything about one key: its type and default, the rule it must meet,
what it is for, and how its text is parsed and checked. The parsers below say ``<key> must
<rule>; got <value>`` with the declared ``rule``, so a message and the docs table cannot
disagree. Each returns the value and every problem it found, never raising, so that the whole
configuration is checked in one pass.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

Parsed = tuple[T, list[str]]
# (the setting, the text the user wrote) -> the value and every problem with it.
Parse = Callable[["Setting[T]", str], Parsed[T]]


def value_text(value: Any) -> str:
    """A value as a stack file writes it: ``true``, ``10.0.0.0/16``, ``["us-east-1a", ...]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return json.dumps([value_text(item) for item in value])
    return str(value)


@dataclass(frozen=True)
class CreationOnly:
    """A setting fixed once the stack exists: what a change would replace, and which part of
    the value counts. Preflight refuses a deployed stack whose file changes it
    (offline/creation_settings.py); the settings table says so."""

    reason: str
    """What the value goes into that cannot change in place, as the docs show it."""
    part: Callable[[Any], str] = value_text
    """The part of the value that is fixed, as text (e.g. the major of a version)."""


@dataclass(frozen=True, kw_only=True)
class Setting(Generic[T]):
    """One config key, declared once: the docs, ``Pulumi.yaml`` and the checks come from it."""

    key: str
    """As the user writes it, ``namespace:name``."""
    type: str
    """The type as the docs show it, e.g. ``integer (MiB)``."""
    default: T
    """The value when the key is unset (unused when ``required``)."""
    rule: str
    """What a valid value is, as the docs show it and the messages say (``must be <rule>``)."""
    description: str
    """What the setting is for."""
    parse: Parse[T]
    shown_default: str | None = None
    """The docs' default when ``default`` alone would not say it, e.g. ``0 (off)``."""
    required: bool = False
    blank_is_unset: bool = False
    """An empty string means unset (optional names and ARNs)."""
    creation_only: CreationOnly | None = None
    """Set when a deployed stack cannot change it (why, and which part of the value)."""

    def read(self, raw: Mapping[str, str]) -> Parsed[T]:
        """This key's value in ``raw`` (``namespace:key`` -> text) and every problem with it."""
        text = raw.get(self.key)
        if text == "" and self.blank_is_unset:
            text = None
        if text is None and not self.required:
            return self.default, []
        return self.parse(self, text or "")

    def broken(self, got: str) -> str:
        """The message for a value that breaks the declared rule."""
        return f"{self.key} must be {self.rule}; got {got}"

    @property
    def shown(self) -> str:
        """The default as the docs table shows it."""
        if self.shown_default is not None:
            return self.shown_default
        return "(required)" if self.required else str(self.default)

    @property
    def default_text(self) -> str | None:
        """The default as a user would write it in a stack file, or None when there is none
        to write (required, looked up, or an empty list)."""
        if self.required or self.default is None or isinstance(self.default, tuple):
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


class Values:
    """Each setting's value, typed by its declaration: ``values[API_CPU]`` is an ``int``."""

    def __init__(self) -> None:
        self._by_key: dict[str, Any] = {}

    def __setitem__(self, setting: Setting[T], value: T) -> None:
        self._by_key[setting.key] = value

    def __getitem__(self, setting: Setting[T]) -> T:
        return cast(T, self._by_key[setting.key])


@dataclass(frozen=True)
class CrossRule:
    """A rule over several keys, declared once: its check, and the note each key's rule gets
    in the docs (e.g. ``at most payments:dbMaxCapacity``)."""

    notes: Mapping[str, str]
    """Key -> what this rule adds to that key's rule in the docs."""
    check: Callable[[Values], list[str]]


def read_all(
    raw: Mapping[str, str], settings: Iterable[Setting[Any]], rules: Iterable[CrossRule]
) -> tuple[Values, list[str]]:
    """Every setting's value and every problem: each key's own, then each cross-key rule's.

    A key whose text could not be parsed takes its default for the cross-key rules; one that
    parsed but broke its own rule keeps its value, so both problems are reported.
    """
    values, problems = Values(), []
    for setting in settings:
        value, found = setting.read(raw)
        values[setting] = value
        problems += found
    for rule in rules:
        problems += rule.check(values)
    return values, problems


def unknown_key_problems(
    raw: Mapping[str, str], settings: Iterable[Setting[Any]], namespace: str
) -> list[str]:
    """A ``namespace:`` key that no setting declares is a mistake, not something to ignore."""
    known = {s.key for s in settings}
    ours = sorted(k for k in known if k.startswith(f"{namespace}:"))
    problems = []
    for key in sorted(raw):
        if not key.startswith(f"{namespace}:") or key in known:
            continue
        # Case-blind first: vpcCIDR for vpcCidr is the commonest slip.
        by_case = [k for k in ours if k.lower() == key.lower()]
        close = by_case or difflib.get_close_matches(key, ours, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}?" if close else f"known settings: {', '.join(ours)}"
        problems.append(f"{key} must be a known setting ({hint}); got an unknown key")
    return problems


def docs_rule(setting: Setting[Any], rules: Iterable[CrossRule]) -> str:
    """The key's rule with what each cross-key rule adds to it, as the docs show it."""
    notes = [rule.notes[setting.key] for rule in rules if setting.key in rule.notes]
    return "; ".join([setting.rule, *notes])


# -- binding settings to the fields of the settings dataclasses --------------------------------

SETTING = "setting"


def bound(setting: Setting[T]) -> T:
    """A dataclass field that holds ``setting``'s value, with its declared default."""
    if setting.required:
        return cast(T, field(metadata={SETTING: setting}))
    return field(default=setting.default, metadata={SETTING: setting})


def binding(data_field: Field[Any]) -> Setting[Any] | None:
    """The setting a dataclass field holds (None: a field of another kind)."""
    return data_field.metadata.get(SETTING)


def bound_values(instance: Any) -> dict[str, Any]:
    """Setting key -> value of every bound field of a settings dataclass, nested ones too."""
    found: dict[str, Any] = {}
    for data_field in fields(instance):
        value = getattr(instance, data_field.name)
        if (setting := binding(data_field)) is not None:
            found[setting.key] = value
        elif is_dataclass(value) and not isinstance(value, type):
            found.update(bound_values(value))
    return found


def creation_values(settings: Iterable[Setting[Any]], values: Mapping[str, Any]) -> dict[str, str]:
    """Key -> the fixed part, as text, of each creation-only setting's value in ``values``
    (setting key -> the value in use)."""
    return {
        s.key: s.creation_only.part(values[s.key]) for s in settings if s.creation_only is not None
    }


def build(kind: type[T], values: Values, **others: Any) -> T:
    """An instance of the dataclass ``kind``, each bound field taken from ``values``."""
    bound_fields = fields(cast(Any, kind))  # a dataclass, which type[T] cannot say
    chosen = {f.name: values[s] for f in bound_fields if (s := binding(f)) is not None}
    return kind(**chosen, **others)


# -- parsers -----------------------------------------------------------------------------------


def any_text(setting: Setting[str], text: str) -> Parsed[str]:
    """Any text: checked where it is used (e.g. a folder the program reads)."""
    return text, []


def text_where(check: Callable[[str], bool]) -> Parse[Any]:
    """Text that ``check`` accepts. The text is kept even when it fails, for the cross-key
    rules (``domainName`` with ``certificateArn`` is a problem whatever the values)."""

    def parse(setting: Setting[Any], text: str) -> Parsed[Any]:
        return text, [] if check(text) else [setting.broken(f'"{text}"')]

    return parse


def text_matching(pattern: str) -> Parse[Any]:
    """Text that matches ``pattern`` in full."""
    return text_where(lambda text: re.fullmatch(pattern, text) is not None)


def one_of(choices: type[E]) -> Parse[E]:
    """A member of the ``StrEnum`` ``choices``, by its value."""

    def parse(setting: Setting[E], text: str) -> Parsed[E]:
        try:
            return choices(text), []
        except ValueError:
            return setting.default, [setting.broken(f'"{text}"')]

    return parse


def choice_rule(choices: type[StrEnum]) -> str:
    """``a or b``, or ``one of a, b, c``: the rule of a ``one_of`` setting."""
    names = [member.value for member in choices]
    return " or ".join(names) if len(names) == 2 else f"one of {', '.join(names)}"


def true_or_false(setting: Setting[bool], text: str) -> Parsed[bool]:
    """``true`` or ``false`` (as `pulumi config set` stores a boolean)."""
    if text in ("true", "false"):
        return text == "true", []
    return setting.default, [setting.broken(f'"{text}"')]


def whole_number(check: Callable[[int], bool] = lambda _: True) -> Parse[int]:
    """A whole number, then ``check``: ``must be a whole number`` or ``must be <rule>``."""

    def parse(setting: Setting[int], text: str) -> Parsed[int]:
        if not re.fullmatch(r"\d+", text):
            return setting.default, [f'{setting.key} must be a whole number; got "{text}"']
        value = int(text)
        return value, [] if check(value) else [setting.broken(str(value))]

    return parse


def whole_number_from(lowest: int, highest: int) -> Parse[int]:
    """A whole number from ``lowest`` to ``highest``, one message for either failure."""

    def parse(setting: Setting[int], text: str) -> Parsed[int]:
        if re.fullmatch(r"\d+", text) and lowest <= int(text) <= highest:
            return int(text), []
        return setting.default, [setting.broken(f'"{text}"')]

    return parse


def number(check: Callable[[float], bool]) -> Parse[float]:
    """A number, then ``check``: ``must be a number`` or ``must be <rule>``."""

    def parse(setting: Setting[float], text: str) -> Parsed[float]:
        try:
            value = float(text)
        except ValueError:
            return setting.default, [f'{setting.key} must be a number; got "{text}"']
        return value, [] if check(value) else [setting.broken(f"{value:g}")]

    return parse
