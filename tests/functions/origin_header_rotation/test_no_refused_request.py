"""No request CloudFront sends is ever refused: whole rotations, the state after each step,
a crash right after any write and the retry, each step run twice, a distribution still
deploying, a rotation given up on half way. The fake edge checks after every write and as
every deployment ends that each value CloudFront may send is forwarded by the listener rule
and labelled by the rule group (``edge.violations``)."""

from __future__ import annotations

import pytest
from payments_local_servers.secrets_rotation import STEPS

from functions.origin_header_rotation import handler
from functions.origin_header_rotation.rotation_error import RotationError
from tests.functions.origin_header_rotation import edge_samples
from tests.functions.origin_header_rotation.fake_edge import DEPLOYED, IN_PROGRESS, CrashError
from tests.functions.origin_header_rotation.origin_rig import CURRENT, PENDING, Rig

# The function's writes in a whole rotation, in order.
ROTATION_WRITES = [
    "put_secret_value",  # createSecret
    "ModifyRule",  # setSecret: the ALB accepts both
    "UpdateRuleGroup",  # setSecret: WAF labels both
    "UpdateDistribution",  # setSecret: CloudFront sends the new value
    "update_secret_version_stage",  # finishSecret: AWSCURRENT moves
    "ModifyRule",  # finishSecret: the ALB accepts the new value only
    "UpdateRuleGroup",  # finishSecret: WAF labels the new value only
]


def test_a_rotation_moves_every_place_to_a_new_value_without_refusing_a_request(
    rig: Rig,
) -> None:
    token = rig.rotate()
    new = rig.value(version=token)
    assert new != rig.first
    rig.assert_settled_on(new)
    assert rig.writes.names() == ROTATION_WRITES
    assert rig.stages()[token] == [CURRENT, PENDING]  # Secrets Manager drops AWSPENDING next
    # CloudFront moved only after the ALB and WAF took the new value, and they dropped the
    # old one only once CloudFront had deployed: 240 s, the fake's deployment.
    times = [t for t, _ in rig.writes.made]
    assert times == [0.0, 0.0, 0.0, 0.0, 240.0, 240.0, 240.0]


def test_two_rotations_in_a_row_each_settle_on_their_value(rig: Rig) -> None:
    first = rig.value(version=rig.rotate())
    second = rig.value(version=rig.rotate())
    assert len({rig.first, first, second}) == 3
    rig.assert_settled_on(second)


@pytest.mark.parametrize("done", range(1, len(STEPS) + 1), ids=lambda n: f"after-{STEPS[n - 1]}")
def test_after_each_step_every_value_cloudfront_may_send_is_accepted(rig: Rig, done: int) -> None:
    token = rig.rotations.start()
    rig.steps(token, STEPS[:done])
    new = rig.value(version=token)
    assert rig.edge.violations == []
    expected = {
        1: ([rig.first], rig.first, rig.first),  # createSecret: nothing outside the secret
        2: ([rig.first, new], new, rig.first),  # setSecret: both accepted, CloudFront sends new
        3: ([rig.first, new], new, rig.first),  # testSecret: read-only
        4: ([new], new, new),  # finishSecret
    }[done]
    accepted, sent, current = expected
    assert rig.edge.alb_values() == accepted
    assert rig.edge.group["Rules"][0]["Statement"] == edge_samples.header_statement(accepted)
    assert rig.edge.configured() == sent
    assert rig.edge.status == DEPLOYED
    assert rig.value(stage=CURRENT) == current


@pytest.mark.parametrize("deployment_ends", [False, True], ids=["at-once", "after-deploying"])
@pytest.mark.parametrize("crash_after", range(1, len(ROTATION_WRITES) + 1))
def test_a_crash_right_after_any_write_refuses_nothing_and_the_retry_completes(
    rig: Rig, crash_after: int, deployment_ends: bool
) -> None:
    token = rig.rotations.start()
    rig.writes.crash_after = crash_after
    with pytest.raises(CrashError):
        rig.steps(token)
    assert rig.edge.violations == []
    if deployment_ends:  # Secrets Manager retries minutes later
        rig.clock.sleep(rig.edge.deploy_seconds)
    rig.steps(token)  # it retries the whole rotation with the same token
    new = rig.value(version=token)
    rig.assert_settled_on(new)
    assert rig.writes.names() == ROTATION_WRITES  # each write made once, the retry's none again


@pytest.mark.parametrize("step", STEPS)
def test_each_step_run_twice_writes_nothing_the_second_time(rig: Rig, step: str) -> None:
    token = rig.rotations.start()
    steps = STEPS[: STEPS.index(step) + 1]
    rig.steps(token, steps)
    written = list(rig.writes.made)
    rig.step(step, token)
    assert rig.writes.made == written
    assert rig.edge.violations == []


def test_a_whole_rotation_replayed_with_the_same_token_writes_nothing(rig: Rig) -> None:
    token = rig.rotate()
    written = list(rig.writes.made)
    rig.steps(token)
    assert rig.writes.made == written
    rig.assert_settled_on(rig.value(version=token))


def test_a_distribution_still_deploying_fails_set_secret_and_nothing_is_dropped(
    rig: Rig,
) -> None:
    rig.edge.deploy_seconds = 1500.0  # longer than one invocation waits (600 s)
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match=r"still InProgress: .* accept both"):
        rig.step("setSecret", token)
    new = rig.value(version=token)
    assert rig.clock.now() >= handler.DEPLOY_WAIT_SECONDS - handler.POLL_SECONDS
    assert rig.edge.status == IN_PROGRESS
    assert rig.edge.may_send() == {rig.first, new}
    assert rig.edge.alb_values() == [rig.first, new]
    with pytest.raises(RotationError, match="is InProgress"):
        rig.step("testSecret", token)
    with pytest.raises(RotationError, match="nothing moved and nothing dropped"):
        rig.step("finishSecret", token)
    assert rig.value(stage=CURRENT) == rig.first
    assert rig.edge.alb_values() == [rig.first, new]
    assert rig.edge.violations == []
    # Secrets Manager's retries, at once: each setSecret waits 600 s more, and the second
    # sees the deployment end (at 1500 s) and the rotation through.
    with pytest.raises(RotationError, match=r"still InProgress \(a change not yet on every"):
        rig.steps(token)
    assert rig.edge.alb_values() == [rig.first, new]
    rig.steps(token)
    rig.assert_settled_on(new)


def test_set_secret_waits_for_a_deployment_begun_before_it_before_writing(rig: Rig) -> None:
    rig.edge.start_deployment()  # someone's change, a minute before the rotation
    rig.clock.sleep(60.0)
    token = rig.rotations.start()
    rig.steps(token, ("createSecret", "setSecret"))
    first_edge_write = next(t for t, name in rig.writes.made if name == "ModifyRule")
    assert first_edge_write >= rig.edge.deploy_seconds
    assert rig.edge.violations == []


def test_a_deployment_begun_before_and_still_going_fails_set_secret_before_any_write(
    rig: Rig,
) -> None:
    rig.edge.deploy_seconds = 1500.0
    rig.edge.start_deployment()
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match=r"still InProgress \(.*\); nothing changed this time"):
        rig.step("setSecret", token)
    assert rig.writes.names() == ["put_secret_value"]


def test_a_rotation_given_up_half_way_is_made_good_by_the_next_one(rig: Rig) -> None:
    abandoned = rig.rotations.start()
    rig.steps(abandoned, ("createSecret", "setSecret"))
    half = rig.value(version=abandoned)
    assert rig.edge.configured() == half
    # An operator takes AWSPENDING off it so that RotateSecret runs again, with a new token.
    rig.secrets.update_secret_version_stage(
        SecretId=rig.arn, VersionStage=PENDING, RemoveFromVersionId=abandoned
    )
    token = rig.rotations.start()
    rig.steps(token, ("createSecret", "setSecret"))
    new = rig.value(version=token)
    # AWSCURRENT is still the first value, but CloudFront sent the abandoned one: both stayed.
    assert rig.edge.alb_values() == [rig.first, half, new]
    rig.steps(token, ("testSecret", "finishSecret"))
    rig.assert_settled_on(new)


def test_a_rule_group_or_distribution_changed_meanwhile_is_read_again(rig: Rig) -> None:
    rig.edge.conflicts = {"UpdateRuleGroup": 1, "UpdateDistribution": 1}
    token = rig.rotate()
    rig.assert_settled_on(rig.value(version=token))
    updates = [name for _, name in rig.edge.calls if name.startswith("Update")]
    assert updates.count("UpdateDistribution") == 2  # one PreconditionFailed, one done
    assert updates.count("UpdateRuleGroup") == 3  # setSecret: one refused; finishSecret


def test_the_wait_stops_before_the_function_times_out() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 300_000

    wait = handler.deploy_wait(Context())
    assert wait.deadline - wait.now() == pytest.approx(300 - handler.TIMEOUT_MARGIN_SECONDS)
    assert handler.deploy_wait(None).deadline - wait.now() == pytest.approx(600, abs=1)
