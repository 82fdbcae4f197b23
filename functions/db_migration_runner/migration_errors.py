"""The errors the migration runner raises: each fails the invocation, and so the deploy.

Their messages carry names, ARNs, ids, codes and reasons only, never the task definition's
environment, the task's overrides or secrets.
"""

from __future__ import annotations


class MigrationError(RuntimeError):
    """The migrations did not run to success. Messages carry ids, codes and reasons only."""


class InvalidEventError(MigrationError, ValueError):
    """The event lacks a key, or a key's value is not what it must be."""


class TaskNotStartedError(MigrationError):
    """RunTask started no task."""


class MigrationTimeoutError(MigrationError):
    """The task had not stopped by the deadline; it was stopped."""


class MigrationFailed(MigrationError):  # noqa: N818 (the name the deploy reports)
    """The task stopped, and the migrations container did not exit with 0."""
