"""A stack's settings loaded as the program loads them, for the tests of what a setting accepts
and refuses (test_service_settings.py, test_database.py, test_database_rotation_setting.py)."""

from __future__ import annotations

from payments_infra.config import StackConfig
from tests.stacks import VALID_CONFIG


def load(**overrides: str) -> StackConfig:
    """The StackConfig of VALID_CONFIG with these settings added or changed."""
    return StackConfig.from_mapping({**VALID_CONFIG, **overrides}, project="p", stack="s")
