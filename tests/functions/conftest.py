"""Fixtures for the Lambda functions' tests: fake AWS credentials and moto, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from functions.alb_log_forwarder import handler

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's AWS, fake credentials in us-east-1, and the handler's client cache emptied."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_LOGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setattr(handler, "_CLIENTS", {})
    with mock_aws():
        yield
