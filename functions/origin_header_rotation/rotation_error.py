"""RotationError: a step cannot complete. The invocation fails, and Secrets Manager runs the
rotation again later with the same token; what the step left behind still lets every request
CloudFront sends through (the handler's docstring says why)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError


class RotationError(Exception):
    """A step cannot complete. Messages name versions, stages, resources and error codes,
    never a header value."""


def error_code(error: ClientError) -> str:
    """The AWS error code of ``error`` (``""`` when the response has none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def without_message(error: ClientError | BotoCoreError, call: str) -> RotationError:
    """A RotationError for a failed request that carried a header value: it names the error's
    code (or class), not its message, since a message about a request may quote the request."""
    what = error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return RotationError(f"{call} failed: {what} (the message is left out: it may quote a value)")
