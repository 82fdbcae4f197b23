"""Aurora PostgreSQL's fixed choices, and the documents made from them.

The database name, admin user and port; the password alphabet; the backup and maintenance
windows; the cluster parameter group's values (TLS only, what an assessor wants logged); the
secret's JSON, which the rotation function (functions/db_rotation) and the API both read; and
the cluster's alarms, with their thresholds and what on-call does about each.
Plain values and functions: database.py builds the resources from them, tests read them
directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

DATABASE_NAME = "payments"
INSTANCE_NAMES = {"writer": Names.db_instance_writer, "reader": Names.db_instance_reader}


def monitored_instance_arns(account_id: str, suffix: str) -> list[str]:
    """What RDS acts for when it assumes the enhanced-monitoring role, as ``aws:SourceArn``:
    the DB instances' ARNs (RDS user guide, "Setting up and enabling Enhanced Monitoring",
    "Protecting against the confused deputy problem"), known from their names before they
    exist, so the role can name them without waiting for them."""
    return [
        f"arn:aws:rds:{REQUIRED_REGION}:{account_id}:db:{physical_name(name, suffix)}"
        for name in INSTANCE_NAMES.values()
    ]


MASTER_USERNAME = "payments_admin"
PORT = 5432


@dataclass(frozen=True)
class DatabaseLogin:
    """A least-privilege login of the database and its own secret.

    The migrations (app/api/payments_api/migrations) create ``username`` and
    ``username``_clone with no password, both members of ``group``, which holds the grants;
    the migration step sets the password of whichever the secret names when it cannot log
    in, and the rotation function alternates between the two (AWS's alternating-users
    strategy), so the login in use keeps working while the other one gets the new password.
    """

    role: str
    """What it is for, in names: ``db-{role}-credentials-{suffix}``."""
    username: str
    group: str
    description: str


# Who logs in to the database besides the master user (payments_api.roles holds the same
# names; tests/unit/test_database_secrets.py compares them).
APP_LOGIN = DatabaseLogin(
    "app",
    "payments_api",
    "payments_app",
    "the API: insert and read payments, read API keys; no UPDATE, DELETE or DDL",
)
KEYS_LOGIN = DatabaseLogin(
    "keys",
    "payments_keys_cli",
    "payments_keys",
    "the key CLI: create, list and revoke API keys; nothing on payments",
)
# Environment variable -> key of the secret's JSON, as the API reads them (app/api README).
SECRET_KEYS = {
    "DB_HOST": "host",
    "DB_PORT": "port",
    "DB_NAME": "dbname",
    "DB_USER": "username",
    "DB_PASSWORD": "password",
}
# Only URL-unreserved punctuation: the password goes into a URL and an environment variable
# unescaped, and Aurora refuses "/", '"', "@" and spaces anyway.
PASSWORD_SPECIALS = "-_.~"
# UTC. Backups at night in the US, maintenance an hour later on Sunday: they must not overlap.
BACKUP_WINDOW = "07:00-08:00"
MAINTENANCE_WINDOW = "sun:08:30-sun:09:30"
# Statements at least this slow are logged, in milliseconds.
SLOW_STATEMENT_MS = 1000
# Enhanced monitoring: OS metrics (per-process CPU, memory, I/O) every minute, the cheapest
# interval, into the account's RDSOSMetrics log group, with the permissions AWS keeps in
# its managed policy for exactly this.
MONITORING_INTERVAL_SECONDS = 60
MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def cluster_parameters() -> dict[str, str]:
    """The cluster parameter group's values: TLS only, and what an assessor wants logged."""
    return {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_statement": "ddl",
        "log_lock_waits": "1",
        "log_min_duration_statement": str(SLOW_STATEMENT_MS),
    }


def secret_document(
    host: str,
    password: str,
    cluster_identifier: str,
    *,
    username: str = MASTER_USERNAME,
    master_secret_arn: str | None = None,
) -> str:
    """A secret's JSON: the shape AWS's PostgreSQL rotation functions use, plus ``url``.

    The master's secret (the default) rotates single-user; a login's secret names the
    master's in ``masterarn``, which is what makes the rotation function alternate users.
    """
    document: dict[str, object] = {
        "engine": "postgres",
        "host": host,
        "port": PORT,
        "username": username,
        "password": password,
        "dbname": DATABASE_NAME,
        "dbClusterIdentifier": cluster_identifier,
        "url": f"postgresql://{quote(username, safe='')}:{quote(password, safe='')}@{host}:"
        f"{PORT}/{DATABASE_NAME}?sslmode=verify-full",
    }
    if master_secret_arn is not None:
        document["masterarn"] = master_secret_arn
    return json.dumps(document)


def database_alarms(cluster: str, reader: str, suffix: str) -> list[AlarmSpec]:
    """Aurora running hot, short of memory or connections, or its reader falling behind."""
    dimensions = {"DBClusterIdentifier": cluster}
    raise_max = "pulumi config set payments:dbMaxCapacity <ACU> and make up (in place)"
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_db_cpu, suffix),
            namespace="AWS/RDS",
            metric="CPUUtilization",
            dimensions=dimensions,
            comparison="GreaterThanThreshold",
            threshold=80,
            why="Aurora CPU high for 15 minutes: raise dbMaxCapacity or fix a query.",
            action=f"Performance Insights of {physical_name(Names.db_instance_writer, suffix)}, "
            "top SQL: a runaway query is fixed in the API; real load with "
            f"ServerlessDatabaseCapacity at dbMaxCapacity: {raise_max}.",
            statistic="Average",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_db_memory, suffix),
            namespace="AWS/RDS",
            metric="FreeableMemory",
            dimensions=dimensions,
            comparison="LessThanThreshold",
            threshold=256 * 1024 * 1024,
            why="Under 256 MiB free: the buffer cache is gone and latency will follow.",
            action="Raise the floor, pulumi config set payments:dbMinCapacity <ACU> (about 2 GiB "
            f"each) and make up; if ServerlessDatabaseCapacity is at dbMaxCapacity: {raise_max}.",
            statistic="Minimum",
            period=300,
            evaluation_periods=3,
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_db_connections, suffix),
            namespace="AWS/RDS",
            metric="DatabaseConnections",
            dimensions=dimensions,
            comparison="GreaterThanThreshold",
            threshold=400,
            why="Connections near the limit of small capacities: "
            "pools are leaking or too many tasks.",
            action="The API holds at most its running tasks x DB_POOL_MAX (10 by default). "
            "More than that: find who in the connection lines of "
            f"{physical_name(Names.db_log_group, suffix)} and stop it (docs/deploy.md, On-call: "
            "capacity limits).",
            statistic="Maximum",
            period=300,
            evaluation_periods=2,
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_db_replica_lag, suffix),
            namespace="AWS/RDS",
            metric="AuroraReplicaLag",
            dimensions={"DBInstanceIdentifier": reader},
            comparison="GreaterThanThreshold",
            threshold=1000,
            why="Reader over 1 s behind: a failover would lose that much recent work.",
            action="If the reader's ServerlessDatabaseCapacity is at dbMaxCapacity: "
            f"{raise_max}; else aws rds reboot-db-instance --db-instance-identifier "
            f"{reader} (the API uses the writer only).",
            statistic="Maximum",
            evaluation_periods=5,
        ),
    ]


def database_widget(cluster_identifier: str) -> DashboardWidget:
    """The tier's row of the dashboard: the cluster's CPU, connections and capacity."""
    return DashboardWidget(
        title="Aurora CPU, connections, capacity",
        metrics=[
            ["AWS/RDS", metric, "DBClusterIdentifier", cluster_identifier]
            for metric in ("CPUUtilization", "DatabaseConnections", "ServerlessDatabaseCapacity")
        ],
        stat="Average",
    )
