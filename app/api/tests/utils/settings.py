"""Settings for a test database, independent of whatever the environment holds."""

from typing import Any

from payments_local_servers.api import AppDatabase

from payments_api.settings import Settings

# Short waits, so tests of an unavailable database take about a second.
FAST_DATABASE_SETTINGS: dict[str, Any] = {
    "db_pool_min": 1,
    "db_pool_max": 10,
    "db_pool_timeout": 1.0,
    "db_connect_timeout": 2,
    "db_statement_timeout": 2.0,
}


def settings_for(app_database: AppDatabase, **overrides: Any) -> Settings:
    """Settings for the API's login to `app_database` (payments_api, or the login of its own
    of `own_login_database`); every field a test relies on is given, so none comes from the
    environment."""
    database = app_database.api
    values: dict[str, Any] = {
        "app_version": "0.1.0",
        "git_commit": None,
        "database_url": None,
        "db_host": database.host,
        "db_port": database.port,
        "db_name": database.dbname,
        "db_user": database.user,
        "db_password": database.password,
        "db_sslrootcert": str(database.sslrootcert),
        "db_secret_arn": None,
        "db_rebuild_min_interval": 5.0,
        "aws_region": "us-east-1",
        "cors_allowed_origins": [],
        **FAST_DATABASE_SETTINGS,
    }
    values.update(overrides)
    return Settings.model_validate(values)


def server_env(database: AppDatabase, **overrides: str) -> dict[str, str]:
    """Environment for `python -m payments_api.serve` against `database`, as its API login."""
    env = {
        **database.api.env(),
        "DB_POOL_MIN": "2",
        "DB_POOL_MAX": "10",
        "DB_POOL_TIMEOUT": "5",
        "LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env
