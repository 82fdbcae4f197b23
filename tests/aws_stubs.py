"""A boto3 client of one service that reaches no AWS, with botocore's Stubber to answer it."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber


def stubbed(service: str) -> tuple[Any, Stubber]:
    """(the client, its Stubber): the tests queue each answer and what it must be asked."""
    client = boto3.client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return client, Stubber(client)
