"""The API's metrics in process: the contract's guard (metrics.json is exactly what the API
computes), the directives grouped by dimension sets, the package as the image holds it finding
its contract, and the database timings the pool adds to a request's metrics.
"""

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from payments_local_servers.api import AppDatabase

from payments_api import metrics
from payments_api.db import DatabasePool
from payments_api.db_connection import DatabaseUnavailableError
from tests.utils.emf import API_DIR, CONTRACT, NAMESPACE
from tests.utils.settings import settings_for


def test_the_contract_is_exactly_what_the_api_computes() -> None:
    metrics.check_contract(CONTRACT)
    changes: list[Callable[[dict[str, Any]], object]] = [
        lambda c: c["metrics"].pop("PoolWait"),
        lambda c: c["metrics"].update(Refunds={"unit": "Count", "dimensions": [[]]}),
        lambda c: c["dimensions"].update(ClientId="never"),
        lambda c: c["metrics"]["Latency"].update(unit="Millis"),
        lambda c: c["metrics"]["Requests"].update(dimensions=[["Route", "ClientId"]]),
        lambda c: c["metrics"]["Requests"].update(dimensions=[]),
    ]
    for change in changes:
        contract = json.loads(json.dumps(CONTRACT))
        change(contract)
        with pytest.raises(ValueError, match=r"metrics\.json"):
            metrics.check_contract(contract)


def test_directives_group_metrics_by_their_dimension_sets() -> None:
    directives = metrics.directives(CONTRACT, frozenset(CONTRACT["metrics"]))
    assert [d["Dimensions"] for d in directives] == [
        [["Route", "StatusClass"], []],
        [["Route"], []],
        [[]],
    ]
    assert [m["Name"] for d in directives for m in d["Metrics"]] == list(CONTRACT["metrics"])


def test_the_package_copied_as_a_directory_finds_its_contract(tmp_path: Path) -> None:
    # The image copies payments_api as a directory (no install): the contract travels with it.
    shutil.copytree(
        API_DIR / "payments_api",
        tmp_path / "payments_api",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    completed = subprocess.run(
        [sys.executable, "-c", "from payments_api import metrics; print(metrics.NAMESPACE)"],
        cwd=tmp_path,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (completed.returncode, completed.stdout.strip()) == (0, NAMESPACE), completed.stderr


@pytest.mark.anyio
async def test_the_pool_adds_each_runs_times_to_the_requests_timing(
    app_database: AppDatabase,
) -> None:
    pool = DatabasePool(settings_for(app_database))
    await pool.open()
    try:
        await pool.check_ready()  # outside a request: nothing to add to, nothing fails
        timing, token = metrics.start_request_timing()
        try:
            await pool.check_ready()
            first = timing.database_ms
            await pool.check_ready()
        finally:
            metrics.end_request_timing(token)
        assert metrics.request_timing() is None
    finally:
        await pool.close()
    assert first is not None and first > 0
    assert timing.database_ms is not None and timing.database_ms > first  # summed
    assert timing.pool_wait_ms is not None and timing.pool_wait_ms >= 0


@pytest.mark.anyio
async def test_a_pool_timeout_is_pool_wait_without_database_time(
    app_database: AppDatabase,
) -> None:
    settings = settings_for(app_database, db_host="127.0.0.2", db_pool_timeout=0.3)
    pool = DatabasePool(settings)
    await pool.open()
    timing, token = metrics.start_request_timing()
    try:
        with pytest.raises(DatabaseUnavailableError):
            await pool.check_ready()
    finally:
        metrics.end_request_timing(token)
        await pool.close()
    assert timing.pool_wait_ms is not None and timing.pool_wait_ms > 250  # DB_POOL_TIMEOUT 0.3 s
    assert timing.database_ms is None
