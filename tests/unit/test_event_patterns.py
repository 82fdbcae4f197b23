"""The offline event-pattern matcher (tests/event_patterns.py): each rule of the subset it
implements, what must not match, and the syntax it refuses to judge."""

from __future__ import annotations

from typing import Any

import pytest

from tests.event_patterns import UnsupportedPatternError, matches

EVENT: dict[str, Any] = {
    "source": "aws.guardduty",
    "detail-type": "GuardDuty Finding",
    "detail": {
        "severity": 7.0,
        "count": "7",
        "archived": False,
        "note": None,
        "tags": ["blue", "green"],
        "findings": [
            {"Severity": {"Label": "LOW"}, "Workflow": {"Status": "NEW"}},
            {"Severity": {"Label": "HIGH"}, "Workflow": {"Status": "RESOLVED"}},
        ],
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # exact values, and lists as "or"
        ({"source": ["aws.guardduty"]}, True),
        ({"source": ["aws.securityhub"]}, False),
        ({"source": ["aws.securityhub", "aws.guardduty"]}, True),
        # every field: "and"
        ({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}, True),
        ({"source": ["aws.guardduty"], "detail-type": ["Other"]}, False),
        # nested objects
        ({"detail": {"severity": [7]}}, True),
        ({"detail": {"severity": [7.0, 8]}}, True),
        ({"detail": {"severity": [6.9]}}, False),
        # a string matches only a string, a number only a number, a boolean only itself
        ({"detail": {"severity": ["7.0"]}}, False),
        ({"detail": {"count": [7]}}, False),
        ({"detail": {"count": ["7"]}}, True),
        ({"detail": {"archived": [False]}}, True),
        ({"detail": {"archived": [0]}}, False),
        ({"detail": {"note": [None]}}, True),
        # numeric comparisons, one or two
        ({"detail": {"severity": [{"numeric": [">=", 7]}]}}, True),
        ({"detail": {"severity": [{"numeric": [">", 7]}]}}, False),
        ({"detail": {"severity": [{"numeric": [">=", 7.1]}]}}, False),
        ({"detail": {"severity": [{"numeric": [">=", 4, "<", 7]}]}}, False),
        ({"detail": {"severity": [{"numeric": [">=", 4, "<=", 7]}]}}, True),
        ({"detail": {"severity": [{"numeric": ["=", 7]}]}}, True),
        ({"detail": {"count": [{"numeric": [">=", 1]}]}}, False),  # "7" is no number
        ({"detail": {"archived": [{"numeric": ["<", 1]}]}}, False),  # nor is false
        # an array of scalars: one element
        ({"detail": {"tags": ["green"]}}, True),
        ({"detail": {"tags": ["red"]}}, False),
        # an array of objects: one element matching all of the nested pattern
        ({"detail": {"findings": {"Severity": {"Label": ["HIGH"]}}}}, True),
        ({"detail": {"findings": {"Severity": {"Label": ["CRITICAL"]}}}}, False),
        (
            {
                "detail": {
                    "findings": {"Severity": {"Label": ["LOW"]}, "Workflow": {"Status": ["NEW"]}}
                }
            },
            True,
        ),
        # HIGH is in one element, NEW in the other: no element has both
        (
            {
                "detail": {
                    "findings": {"Severity": {"Label": ["HIGH"]}, "Workflow": {"Status": ["NEW"]}}
                }
            },
            False,
        ),
        # a field the event lacks, at any depth
        ({"account": ["123456789012"]}, False),
        ({"detail": {"resource": {"type": ["Instance"]}}}, False),
        ({"detail": {"severity": {"Label": ["HIGH"]}}}, False),  # a number is no object
    ],
)
def test_the_subset_matches_as_eventbridge_does(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"source": "aws.guardduty"},  # a bare value, not a list
        {"source": []},
        {"source": [{"prefix": "aws."}]},
        {"source": [{"anything-but": "aws.ec2"}]},
        {"account": [{"exists": True}]},  # refused even where the event lacks the field
        {"detail": {"missing": [{"wildcard": "*"}]}},
        {"detail": {"severity": [{"numeric": [">=", "7"]}]}},
        {"detail": {"severity": [{"numeric": ["!=", 7]}]}},
        {"detail": {"severity": [{"numeric": [">="]}]}},
        {"detail": {"severity": [{"numeric": [">", 1, "<", 9, ">", 2]}]}},
        {"detail": {"severity": [{"numeric": [">=", 7], "prefix": "x"}]}},
        {"detail": {"severity": [[7]]}},
    ],
)
def test_syntax_outside_the_subset_is_refused_not_judged(pattern: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPatternError):
        matches(pattern, EVENT)
