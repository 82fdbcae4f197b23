"""payments:accountControls (account_controls_check.py): the controls are one per account, and
refused when the account has its own."""

from __future__ import annotations

from typing import Any

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline import account_controls_check, preflight
from payments_infra.offline.stack_file import read_stack_config
from tests.preflight_stubs import controls_stubs
from tests.stacks import WEB_DIST


def account_control_problems(**existing: Any) -> list[str]:
    clients, stubs = controls_stubs(**existing)
    for stub in stubs:
        stub.activate()
    try:
        return account_controls_check.account_control_problems(clients, "dev1", "dev")
    finally:
        for stub in stubs:
            stub.assert_no_pending_responses()
            stub.deactivate()


OURS = {"Project": "payments", "Stack": "dev"}


def test_an_account_without_any_of_them_passes() -> None:
    assert account_control_problems() == []


def test_this_stacks_own_controls_pass_a_second_up() -> None:
    assert (
        account_control_problems(
            detectors=[("d-ours", OURS)],
            recorders=["config-recorder-dev1"],
            channels=["config-delivery-dev1"],
            trails=[("trail-dev1", "us-east-1")],
            hub=True,  # counted as ours: the stack's other controls are there
        )
        == []
    )


@pytest.mark.parametrize(
    ("existing", "named"),
    [
        ({"detectors": [("d-1234", {})]}, "a GuardDuty detector (d-1234)"),
        (
            {"detectors": [("d-5678", {"Project": "payments", "Stack": "prod"})]},
            "a GuardDuty detector (d-5678)",
        ),
        ({"recorders": ["default"]}, "an AWS Config recorder (default)"),
        ({"channels": ["default"]}, "an AWS Config delivery channel (default)"),
        ({"trails": [("org-trail", "eu-west-1")]}, "a CloudTrail trail (org-trail)"),
        ({"trails": [("trail-dev1", "eu-west-1")]}, "a CloudTrail trail (trail-dev1)"),
        ({"hub": True}, "Security Hub"),
    ],
)
def test_an_existing_control_is_refused_in_one_sentence_naming_it_and_the_setting(
    existing: dict[str, Any], named: str
) -> None:
    assert account_control_problems(**existing) == [
        f"payments:accountControls is true, but this account already has {named} in "
        "us-east-1: these are one per account (often the organisation's), so set "
        "payments:accountControls to false to rely on them, or remove them, then run again"
    ]


def test_every_existing_control_is_named_at_once() -> None:
    [problem] = account_control_problems(
        detectors=[("d-1", {})], recorders=["default"], trails=[("org", "us-east-1")], hub=True
    )
    assert (
        "already has a GuardDuty detector (d-1), an AWS Config recorder (default), "
        "a CloudTrail trail (org), Security Hub in us-east-1" in problem
    )


def test_only_a_plan_with_account_controls_asks_about_them() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    detectors = "aws:guardduty/detector:Detector"
    assert preflight.planned_graph(config, "dev").of_type(detectors) == []
    config["payments:accountControls"] = "true"
    assert len(preflight.planned_graph(config, "dev").of_type(detectors)) == 1
