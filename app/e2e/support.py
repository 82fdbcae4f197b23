"""Reuse the API's own test servers (PostgreSQL over TLS, the API over HTTPS) by path.

They live with the API's tests and import nothing from pytest or the API's ``tests``
package, so the browser test and the benchmark load them as plain modules.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[2]
API_TESTS = REPO_ROOT / "app" / "api" / "tests"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


postgres_server = _load("payments_api_postgres_server", API_TESTS / "postgres_server.py")
api_server = _load("payments_api_api_server", API_TESTS / "utils" / "api_server.py")
