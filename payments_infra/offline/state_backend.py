"""Where the stacks' state lives, and the checks preflight makes of it.

One setting decides the backend for ``make`` and for every raw ``pulumi`` command alike:
``backend.url`` in ``Pulumi.yaml`` (the Pulumi CLI reads it for any command run in this
project), unless ``PULUMI_BACKEND_URL`` is set, which the CLI puts first (pulumi's
``workspace.GetCurrentCloudURLWithSource``: the environment, then the project file, then the
last ``pulumi login``). The Makefile sets nothing of its own, so what ``make up`` uses is what
``pulumi stack output`` uses.

For a self-managed backend (``file://``, ``s3://``, ``gs://``, ``azblob://``) the stack's
secrets are encrypted by its secrets provider, not by Pulumi Cloud: preflight checks the
passphrase is there for a local backend and that a team backend uses a KMS key the operator
can use (a passphrase shared by a team is a password in a chat). For S3 state it checks the
bucket answers and keeps versions (a bad write must be recoverable). And it refuses an ``up``
whose backend has no such stack while the account already holds the stack's buckets: that is
someone on the wrong backend about to deploy a second copy beside the first.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from payments_infra.offline.commands import Runner

ENV_KEY = "PULUMI_BACKEND_URL"
PROJECT_KEY = "Pulumi.yaml backend.url"
SELF_MANAGED = ("file", "s3", "gs", "azblob")
# Secrets providers a team backend may use: a cloud KMS key, never a shared passphrase.
KMS_PROVIDERS = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
KMS_FIX = (
    'pulumi stack change-secrets-provider --stack {stack} "awskms://alias/pulumi-state'
    '?region=us-east-1"'
)


@dataclass(frozen=True)
class Backend:
    url: str
    source: str
    """Where the URL came from: PULUMI_BACKEND_URL or Pulumi.yaml backend.url."""

    @property
    def scheme(self) -> str:
        return urllib.parse.urlsplit(self.url).scheme

    @property
    def self_managed(self) -> bool:
        return self.scheme in SELF_MANAGED

    def __str__(self) -> str:
        return f"{self.url} (from {self.source})"


def project_backend_url(root: Path) -> str | None:
    project = root / "Pulumi.yaml"
    document = yaml.safe_load(project.read_text()) if project.is_file() else {}
    backend = (document or {}).get("backend") or {}
    url = backend.get("url") if isinstance(backend, dict) else None
    return str(url) if url else None


def effective_backend(root: Path, environ: Mapping[str, str]) -> Backend | None:
    """The backend every ``pulumi`` command in this project uses, as the CLI picks it."""
    if environ.get(ENV_KEY):
        return Backend(environ[ENV_KEY], ENV_KEY)
    url = project_backend_url(root)
    return Backend(url, PROJECT_KEY) if url else None


def backend_problems(backend: Backend | None) -> list[str]:
    if backend is not None:
        return []
    return [
        "no state backend is set: Pulumi would use whatever `pulumi login` last chose, so set "
        "backend.url in Pulumi.yaml (the repository's default is file://./.pulumi-state) or "
        "export PULUMI_BACKEND_URL, then run again"
    ]


def secrets_provider_problems(
    document: Mapping[str, Any],
    backend: Backend | None,
    environ: Mapping[str, str],
    stack: str,
    kms: Callable[[], Any] | None,
) -> list[str]:
    """A self-managed backend leaves the stack's secrets to its secrets provider. ``kms``
    makes a KMS client; None when AWS cannot be asked (the key is then not looked up)."""
    if backend is None or not backend.self_managed:
        return []  # Pulumi Cloud encrypts them itself
    provider = str(document.get("secretsprovider") or "passphrase")
    if provider == "passphrase":
        return _passphrase_problems(backend, environ, stack)
    if provider.startswith("awskms://"):
        return aws_kms_problems(provider, kms()) if kms is not None else []
    if provider.startswith(KMS_PROVIDERS):
        return []  # another cloud's key: not ours to look up
    return [f"Pulumi.{stack}.yaml names an unknown secrets provider {provider!r}"]


def _passphrase_problems(backend: Backend, environ: Mapping[str, str], stack: str) -> list[str]:
    if backend.scheme != "file":
        return [
            f"the stack's secrets are encrypted with a passphrase while its state is shared "
            f"on {backend}: a team would share that passphrase. Give the stack a KMS key: "
            f"{KMS_FIX.format(stack=stack)}"
        ]
    if environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or environ.get(
        "PULUMI_CONFIG_PASSPHRASE_FILE"
    ):
        return []
    return [
        "PULUMI_CONFIG_PASSPHRASE is not set: the local file backend encrypts the stack's "
        "secrets with it, so export it (or PULUMI_CONFIG_PASSPHRASE_FILE) and keep it safe"
    ]


def aws_kms_problems(provider: str, kms: Any) -> list[str]:
    """The stack's secrets key exists, is enabled and encrypts (DescribeKey)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    parts = urllib.parse.urlsplit(provider)
    key_id = urllib.parse.unquote(parts.netloc + parts.path)
    try:
        key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        return [
            f"the stack's secrets provider {provider} names a KMS key this identity cannot "
            f"use ({code}): create it or grant kms:DescribeKey, Encrypt and Decrypt on it"
        ]
    if key.get("KeyState") != "Enabled" or key.get("KeyUsage") != "ENCRYPT_DECRYPT":
        return [
            f"the stack's secrets key {key.get('KeyId', key_id)} is {key.get('KeyState')} "
            f"({key.get('KeyUsage')}): it must be an enabled ENCRYPT_DECRYPT key"
        ]
    return []


def s3_state_problems(backend: Backend | None, s3: Any) -> list[str]:
    """An S3 state bucket must answer, and keep versions: state is the one copy of truth."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    if backend is None or backend.scheme != "s3":
        return []
    bucket = urllib.parse.urlsplit(backend.url).netloc
    try:
        s3.head_bucket(Bucket=bucket)
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        return [
            f"the state bucket {bucket} of {backend} does not answer ({code}): check its name "
            "and that this identity may read and write it"
        ]
    if versioning != "Enabled":
        return [
            f"the state bucket {bucket} does not keep versions: a bad write would lose the "
            f"stack's only record of what it owns. Run aws s3api put-bucket-versioning "
            f"--bucket {bucket} --versioning-configuration Status=Enabled"
        ]
    return []


def stack_names(run: Runner, pulumi: str = "pulumi") -> list[str] | None:
    """The stacks the effective backend holds (``pulumi stack ls --json``); None: unknown."""
    try:
        result = run([pulumi, "stack", "ls", "--json"])
    except (OSError, subprocess.SubprocessError):  # no CLI, or it hung: cannot tell
        return None
    if result.returncode != 0:
        return None
    try:
        return [str(entry["name"]).rsplit("/", 1)[-1] for entry in json.loads(result.stdout)]
    except (ValueError, KeyError, TypeError):
        return None


def missing_state_problems(
    stack: str, ours: Sequence[str], backend: Backend | None, run: Runner
) -> list[str]:
    """Refuse an ``up`` that would build a second copy beside the stack's resources. ``ours``:
    the planned buckets the account holds tagged as this stack's (none on a first deploy,
    and then the Pulumi CLI is not asked)."""
    if not ours:
        return []
    names = stack_names(run)
    if names is None or stack in names:
        return []
    return [
        f"the account already holds stack {stack}'s buckets ({', '.join(ours)}), but the "
        f"state backend {backend} has no stack {stack}: you are most likely on another "
        "backend than the one that deployed it. Set the right one (Pulumi.yaml backend.url or "
        f"PULUMI_BACKEND_URL) and run again; `pulumi up` here would create a second stack {stack}"
    ]
