"""RotationError: a rotation step cannot complete. The invocation fails, and Secrets Manager
runs the step again later; the secret's AWSCURRENT version is left as it was."""

from __future__ import annotations


class RotationError(Exception):
    """A step cannot complete. Messages name keys and versions, never a value."""
