"""Secrets Manager's side of a password rotation, on moto's Secrets Manager, for tests.

A rotation function (the stack's is functions/db_rotation) does the work; Secrets Manager
starts a rotation and invokes the function once per step. moto's RotateSecret cannot stand
in for that: it runs a Lambda function only in Docker, and with none it relabels the secret
at once. `SecretsManagerRotation` does what the service does instead:

- `start()` turns rotation on for the secret (RotationEnabled, the function's ARN, the
  schedule) and adds a version with a new id labelled AWSPENDING and no value yet; the id is
  the rotation's ClientRequestToken;
- `step(name)` invokes the function with ``{"Step", "SecretId", "ClientRequestToken"}``, the
  secret named by its ARN, as Secrets Manager does; an exception is the step failing (the
  service would try the rotation again later, with the same token);
- `rotate()` starts a rotation and runs the four steps in order.

One moto difference is evened out: moto 5.2.5 moves the AWSCURRENT label on
UpdateSecretVersionStage but goes on returning the old version from a GetSecretValue that
names no stage, where Secrets Manager returns the AWSCURRENT one. After each step the
version moto returns by default is the one labelled AWSCURRENT.

Needs moto (a test dependency: app/api/requirements-dev.txt), inside its ``mock_aws()``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

RotationFunction = Callable[[dict[str, Any], object], object]
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


class SecretsManagerRotation:
    """Rotations of one secret of moto's Secrets Manager by ``function`` (a Lambda handler)."""

    def __init__(
        self,
        secret_id: str,
        function: RotationFunction,
        *,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        rotation_days: int = 30,
    ) -> None:
        self.secret_id = secret_id
        self.function = function
        self.region = region
        self.account_id = account_id
        self.rotation_days = rotation_days
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:db-password-rotation"
        self.token: str | None = None

    def _secret(self) -> FakeSecret:
        secret = secretsmanager_backends[self.account_id][self.region].secrets[self.secret_id]
        assert isinstance(secret, FakeSecret)
        return secret

    def start(self) -> str:
        """Begin a rotation as RotateSecret does; return its ClientRequestToken."""
        secret = self._secret()
        token = str(uuid.uuid4())
        secret.remove_version_stages_from_old_versions([PENDING])
        secret.versions[token] = {
            "createdate": int(time.time()),
            "version_id": token,
            "version_stages": [PENDING],
        }
        secret.rotation_enabled = True
        secret.rotation_requested = True
        secret.rotation_lambda_arn = self.function_arn
        secret.auto_rotate_after_days = self.rotation_days
        self.token = token
        return token

    def step(self, name: str, token: str | None = None) -> None:
        """Invoke the function for one step of the rotation ``token`` (default: the last
        started); its exception, if any, propagates."""
        token = token or self.token
        if token is None:
            raise RuntimeError("no rotation started: call start() first")
        event = {"Step": name, "SecretId": self._secret().arn, "ClientRequestToken": token}
        try:
            self.function(event, None)
        finally:
            self._follow_current()

    def rotate(self) -> str:
        """A whole rotation: start, then the four steps. Returns the new version's id."""
        token = self.start()
        for name in STEPS:
            self.step(name, token)
        return token

    def _follow_current(self) -> None:
        secret = self._secret()
        for version_id, version in secret.versions.items():
            if CURRENT in version["version_stages"]:
                secret.set_default_version_id(version_id)
