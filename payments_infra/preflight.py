"""Checks before a real deploy: the Pulumi CLI 3.x and AWS credentials are there.

``make up``, ``make verify`` and ``make down`` run this first, so a missing tool fails with
a sentence that says what to install or set, not with a stack trace halfway through.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys


def problems() -> list[str]:
    found = []
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        found.append(
            "the Pulumi CLI is not on PATH: install Pulumi 3.x "
            "(https://www.pulumi.com/docs/install/) and run again"
        )
    else:
        version = subprocess.run(
            [pulumi, "version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if not re.match(r"v?3\.", version):
            found.append(f"the Pulumi CLI must be version 3.x; got {version or 'no version'}")
    try:
        import boto3  # noqa: PLC0415 (only the deploy path needs it)
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            identity = boto3.client("sts", region_name="us-east-1").get_caller_identity()
            print(f"AWS account {identity['Account']} as {identity['Arn']}")
        except (BotoCoreError, ClientError) as error:
            found.append(
                "no usable AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                f"AWS_SECRET_ACCESS_KEY, or run aws sso login): {error}"
            )
    except ImportError:
        found.append("boto3 is missing: run make venv")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
