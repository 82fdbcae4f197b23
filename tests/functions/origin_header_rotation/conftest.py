"""The origin header rotation's fixtures: ``rig``, the secret in moto's Secrets Manager (the
``aws`` fixture of tests/functions/conftest.py) and the fake edge, wired into the handler."""

from __future__ import annotations

import boto3
import pytest
from payments_local_servers.secrets_rotation import SecretsManagerRotation

from functions.origin_header_rotation import handler, header_values
from tests.functions.origin_header_rotation import edge_samples
from tests.functions.origin_header_rotation.fake_edge import (
    CountingSecrets,
    FakeClock,
    FakeEdge,
    Writes,
)
from tests.functions.origin_header_rotation.origin_rig import Rig


@pytest.fixture
def rig(aws: None, monkeypatch: pytest.MonkeyPatch) -> Rig:
    """A secret holding the stack's first value, the edge holding it too, the function's
    environment naming them, its clients and its clock the rig's."""
    secrets = boto3.client("secretsmanager", region_name=edge_samples.REGION)
    first = header_values.new_value()
    arn = secrets.create_secret(Name="cloudfront-origin-header-dev", SecretString=first)["ARN"]
    clock = FakeClock()
    writes = Writes(clock)
    edge = FakeEdge(first, clock, writes)
    for name, value in edge_samples.environment(arn).items():
        monkeypatch.setenv(name, value)
    clients = {
        "secretsmanager": CountingSecrets(secrets, writes),
        "elbv2": edge.elbv2,
        "wafv2": edge.wafv2,
        "cloudfront": edge.cloudfront,
    }
    monkeypatch.setattr(handler, "_CLIENTS", clients)
    monkeypatch.setattr(handler, "CLOCK", handler.Clock(now=clock.now, sleep=clock.sleep))
    rotations = SecretsManagerRotation(arn, handler.handler, region=edge_samples.REGION)
    return Rig(secrets, arn, first, clock, writes, edge, rotations)
