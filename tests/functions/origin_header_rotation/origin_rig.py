"""The Rig: the origin header's secret in moto's Secrets Manager, the fake edge (fake_edge.py)
holding its value, and rotations of the secret by the function as Secrets Manager runs them
(``payments_local_servers.secrets_rotation``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from payments_local_servers.secrets_rotation import STEPS, SecretsManagerRotation

from tests.functions.origin_header_rotation import edge_samples
from tests.functions.origin_header_rotation.fake_edge import DEPLOYED, FakeClock, FakeEdge, Writes

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


@dataclass
class Rig:
    secrets: Any
    """moto's Secrets Manager client, for the tests' own reads (the function's counts writes)."""
    arn: str
    first: str
    """The stack's first value, in the secret and the three places."""
    clock: FakeClock
    writes: Writes
    edge: FakeEdge
    rotations: SecretsManagerRotation

    def step(self, name: str, token: str | None = None) -> None:
        self.rotations.step(name, token)

    def steps(self, token: str, names: tuple[str, ...] = STEPS) -> None:
        """Steps in order, as Secrets Manager runs them (again, after a failure: all four)."""
        for name in names:
            self.rotations.step(name, token)

    def rotate(self) -> str:
        return self.rotations.rotate()

    def value(self, *, stage: str | None = None, version: str | None = None) -> str:
        request = {"SecretId": self.arn}
        if stage:
            request["VersionStage"] = stage
        if version:
            request["VersionId"] = version
        return str(self.secrets.get_secret_value(**request)["SecretString"])

    def stages(self) -> dict[str, list[str]]:
        versions = self.secrets.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        return {version: sorted(labels) for version, labels in versions.items()}

    def assert_settled_on(self, value: str) -> None:
        """The rotation is over: the secret's AWSCURRENT, the listener rule, the rule group
        and CloudFront all hold ``value`` only, each in the very shape the stack writes, and
        no request was refused on the way."""
        assert self.edge.violations == []
        assert self.value(stage=CURRENT) == value
        assert self.edge.rule == edge_samples.listener_rule([value])
        assert self.edge.group == edge_samples.rule_group([value])
        assert self.edge.config == edge_samples.distribution_config(value)
        assert self.edge.status == DEPLOYED
        assert self.edge.may_send() == {value}
