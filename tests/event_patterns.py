"""EventBridge event patterns evaluated offline, for the subset of the syntax the stack uses.

EventBridge's own ``TestEventPattern`` needs AWS; this is the few rules of the EventBridge user
guide's "Event patterns" that the findings rules (payments_infra/components/account/findings.py)
use, checked by tests/unit/test_event_patterns.py:

- a pattern is an object; every field it names must match (and);
- a field's value is either a nested object (the event's field must be an object matching it)
  or a list of alternatives (any may match: or);
- an alternative is an exact value (a string matches only that string, a number only an equal
  number, ``7`` and ``7.0`` alike), or ``{"numeric": [op, number, ...]}`` with ``>``, ``>=``,
  ``<``, ``<=``, ``=`` (the event's value must be a number);
- where the event holds an array, one element must match: of scalars, an element equal to an
  alternative; of objects, one element matching the whole nested pattern (Event Ruler, the
  engine behind EventBridge, keeps the fields of one match to one array element);
- a field the event lacks never matches.

Anything else (``prefix``, ``anything-but``, ``exists``, ``wildcard``, ``$or``...) raises
``UnsupportedPatternError``, so a pattern this cannot judge is never reported as matching or
not.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
}
_MISSING = object()


class UnsupportedPatternError(ValueError):
    """A pattern, or a part of one, outside the subset above."""


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` (parsed JSON) matches ``pattern`` (parsed JSON)."""
    if not isinstance(pattern, Mapping) or not pattern:
        raise UnsupportedPatternError(f"a pattern is a non-empty object; got {pattern!r}")
    if isinstance(event, list):  # an array of objects: one element matches all of it
        return any(matches(pattern, element) for element in event)
    if not isinstance(event, Mapping):
        _check(pattern)
        return False
    found = [_field(rule, event.get(key, _MISSING)) for key, rule in pattern.items()]
    return all(found)


def _field(rule: Any, value: Any) -> bool:
    if isinstance(rule, Mapping):
        if value is _MISSING:
            _check(rule)
            return False
        return matches(rule, value)
    if not isinstance(rule, list) or not rule:
        raise UnsupportedPatternError(
            f"a field's value is an object or a non-empty list of alternatives; got {rule!r}"
        )
    if value is _MISSING:
        for alternative in rule:
            _alternative(alternative, None)  # still refuse what this cannot judge
        return False
    values = value if isinstance(value, list) else [value]
    return any(_alternative(alternative, item) for alternative in rule for item in values)


def _alternative(alternative: Any, value: Any) -> bool:
    if isinstance(alternative, Mapping):
        return _numeric(alternative, value)
    if isinstance(alternative, bool) or alternative is None:
        return value is alternative
    if isinstance(alternative, int | float):
        return _is_number(value) and float(value) == float(alternative)
    if isinstance(alternative, str):
        return isinstance(value, str) and value == alternative
    raise UnsupportedPatternError(f"unsupported alternative {alternative!r}")


def _numeric(alternative: Mapping[str, Any], value: Any) -> bool:
    if set(alternative) != {"numeric"}:
        raise UnsupportedPatternError(f"unsupported matcher {sorted(alternative)}")
    terms = alternative["numeric"]
    pairs = list(zip(terms[::2], terms[1::2], strict=False))
    if not terms or len(terms) % 2 or len(pairs) > 2:
        raise UnsupportedPatternError(f"numeric takes one or two (op, number) pairs; got {terms}")
    for op, bound in pairs:
        if op not in COMPARISONS or not _is_number(bound):
            raise UnsupportedPatternError(f"numeric: unsupported {op!r} {bound!r}")
    if not _is_number(value):
        return False
    return all(COMPARISONS[op](float(value), float(bound)) for op, bound in pairs)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(pattern: Mapping[str, Any]) -> None:
    """Refuse what this cannot judge even where the event has nothing to match it against."""
    for rule in pattern.values():
        _field(rule, _MISSING)
