"""What the function logs and reports: versions, stages and resources, never a value; and the
values it makes."""

from __future__ import annotations

import logging
import string
import traceback
from typing import Any

import pytest
from botocore.exceptions import ClientError
from payments_local_servers.secrets_rotation import STEPS

from functions.origin_header_rotation import handler, header_values
from functions.origin_header_rotation.rotation_error import RotationError
from tests.functions.origin_header_rotation.fake_edge import CrashError
from tests.functions.origin_header_rotation.origin_rig import Rig


def every_value(rig: Rig) -> set[str]:
    """Every value the secret ever held, and every one the three places hold."""
    values = {rig.first, rig.edge.configured(), *rig.edge.alb_values()}
    for version in rig.stages():
        try:
            values.add(rig.value(version=version))
        except ClientError:  # a version whose value was never written
            continue
    return values


def test_no_value_reaches_the_log_or_an_error_message(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []
    rig.edge.deploy_seconds = 700.0  # setSecret fails once: still InProgress after 600 s
    with caplog.at_level(logging.DEBUG):  # botocore's wire logs included, were they on
        token = rig.rotations.start()
        rig.writes.crash_after = 3  # after UpdateRuleGroup
        for steps in [STEPS, ("testSecret",), ("finishSecret",), STEPS, STEPS]:
            try:
                rig.steps(token, steps)
            except (CrashError, RotationError) as error:
                errors.append(error)
        rig.edge.deploy_seconds = 240.0
        rig.rotate()  # and a second, clean one
    assert [type(error) for error in errors] == [CrashError, *[RotationError] * 3]
    assert "finishSecret: done" in caplog.text
    assert "listener rule now accepts AWSCURRENT=sent by CloudFront, AWSPENDING" in caplog.text
    assert "rule group now matches AWSCURRENT" in caplog.text
    values = every_value(rig)
    assert len(values) == 3
    reported = caplog.text + "".join("".join(traceback.format_exception(error)) for error in errors)
    for value in values:
        assert value not in reported


def test_a_failed_write_is_reported_by_its_code_not_by_a_message_that_quotes_the_value(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    quoted: list[str] = []

    def refuse(**params: Any) -> None:
        value = params["Conditions"][0]["HttpHeaderConfig"]["Values"][-1]
        quoted.append(value)
        message = f"Condition value '{value}' is not valid"
        raise ClientError({"Error": {"Code": "ValidationError", "Message": message}}, "ModifyRule")

    monkeypatch.setattr(rig.edge.elbv2, "modify_rule", refuse)
    token = rig.rotations.start()
    rig.step("createSecret", token)
    with pytest.raises(RotationError, match=r"ModifyRule on .* failed: ValidationError") as error:
        rig.step("setSecret", token)
    assert error.value.__suppress_context__
    assert quoted and quoted[0] not in "".join(traceback.format_exception(error.value))


def test_botocores_wire_logs_stay_off() -> None:
    assert handler.LOG.getEffectiveLevel() == logging.INFO
    for name in ("boto3", "botocore", "urllib3"):
        assert logging.getLogger(name).level == logging.WARNING


def test_new_values_are_64_lowercase_letters_and_digits_each_its_own() -> None:
    values = {header_values.new_value() for _ in range(200)}
    assert len(values) == 200
    assert all(len(value) == 64 for value in values)
    assert set("".join(values)) == set(string.ascii_lowercase + string.digits)
