"""The stack's password rotation function (functions/db_rotation at the repository root),
imported into the API's tests: it must run in this process, where moto's Secrets Manager is."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[4]


def rotation_function() -> ModuleType:
    """functions/db_rotation/handler.py, as a module (its `handler` is the Lambda entry)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))  # after app/api: its `tests` package stays this one
    return importlib.import_module("functions.db_rotation.handler")
