"""The production checklist, enforced for stacks that protect their data
(payments_infra/offline/production.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from payments_infra import REPO_ROOT
from payments_infra.offline.production import policy_pack_args, production_problems
from tests.stacks import DNS, VALID_CONFIG

READY = {
    **VALID_CONFIG,
    **DNS,
    "payments:protectData": "true",
    "payments:accountId": "123456789012",
    "payments:alertEmails": '["oncall@example.com"]',
    "payments:logArchive": "s3",
}
LEAD = "payments:protectData marks Pulumi.prod.yaml as production, but "


def test_a_stack_that_meets_the_checklist_passes() -> None:
    assert production_problems(READY, "prod") == []


def test_an_unprotected_stack_is_not_held_to_it() -> None:
    """A demo: mode 3, no alerts, no archive, any account."""
    assert production_problems(VALID_CONFIG, "prod") == []


@pytest.mark.parametrize(
    ("change", "starts"),
    [
        ({"payments:accountId": ""}, "payments:accountId is not set"),
        ({"payments:alertEmails": "[]"}, "payments:alertEmails is empty"),
        ({"payments:logArchive": "none"}, "payments:logArchive is none"),
        ({"payments:dbRotationDays": "0"}, "payments:dbRotationDays is 0"),
        (
            {"payments:domainName": "", "payments:hostedZoneId": ""},
            "the stack is in certificate mode 3",
        ),
    ],
)
def test_each_item_a_protected_stack_misses_is_refused_with_its_fix(
    change: dict[str, str], starts: str
) -> None:
    [problem] = production_problems({**READY, **change}, "prod")
    assert problem.startswith(LEAD + starts)
    assert ": " in problem.removeprefix(LEAD + starts)  # then the fix


def test_bad_settings_are_left_to_the_plan_which_names_each() -> None:
    assert production_problems({**READY, "payments:apiCpu": "3"}, "prod") == []


def test_make_up_runs_the_policy_pack_with_the_production_rules_on_a_protected_stack(
    tmp_path: Path,
) -> None:
    assert policy_pack_args(READY, tmp_path) == [
        "--policy-pack",
        str(tmp_path / "policy"),
        "--policy-pack-config",
        str(tmp_path / "policy" / "production.json"),
    ]
    assert policy_pack_args(VALID_CONFIG, tmp_path) == ["--policy-pack", str(tmp_path / "policy")]
    assert (REPO_ROOT / "policy" / "production.json").is_file()


def test_the_makefile_passes_them_to_pulumi_up() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    up = makefile[makefile.index("\nup:") : makefile.index("\nverify:")]
    assert 'pulumi up --refresh --stack "$(STACK)" $(POLICY_PACK)' in up
    assert "--json $(POLICY_PACK)" in up  # the preview the gate reads runs the pack too
    assert (
        "POLICY_PACK = $$($(PY) -m payments_infra.offline.production --policy-args --stack "
        '"$(STACK)")' in makefile
    )
