"""The deploying machine's way into AWS: the one client factory preflight and the operator
commands use, and whether AWS answers and takes the credentials, for the right account.

botocore and boto3 are imported where they are used: only the deploy path needs them.
"""

from __future__ import annotations

from typing import Any

from payments_infra.config import REQUIRED_REGION

# An offline machine should hear "cannot reach AWS" in seconds, not after minutes of retries.
STS_CONNECT_TIMEOUT_SECONDS = 5
STS_ATTEMPTS = 2


def aws_problems(sts: Any, account_id: str | None = None) -> list[str]:
    """Reach STS first, then ask who we are: two different failures, two different fixes.
    ``account_id`` (payments:accountId): the only account the stack may deploy into."""
    from botocore.exceptions import (  # noqa: PLC0415 (only the deploy path needs botocore)
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        SSOError,
        TokenRetrievalError,
    )

    try:
        identity = sts.get_caller_identity()
    except (ConnectionError, HTTPClientError) as error:
        return [
            f"cannot reach AWS (STS in {REQUIRED_REGION}): check the network, proxy "
            "(HTTPS_PROXY) or VPN, then run again; the credentials were not checked "
            f"({type(error).__name__})"
        ]
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as error:
        return [
            "no usable AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY, or run aws sso login ({error})"
        ]
    except (TokenRetrievalError, SSOError):
        return ["the AWS SSO session has expired: run aws sso login, then run again"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        return [f"AWS refused the credentials ({code}): renew them or set others, then run again"]
    print(f"preflight: AWS account {identity['Account']} as {identity['Arn']}")
    if account_id and identity["Account"] != account_id:
        return [
            f"these credentials are for AWS account {identity['Account']}, but the stack may "
            f"deploy only into {account_id} (payments:accountId): use that account's "
            "credentials (AWS_PROFILE), or fix the setting if the stack really moved"
        ]
    return []


def aws_client(service: str) -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=STS_CONNECT_TIMEOUT_SECONDS,
        retries={"max_attempts": STS_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client(service, region_name=REQUIRED_REGION, config=config)
