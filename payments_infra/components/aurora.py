"""Aurora PostgreSQL's fixed choices, and the documents made from them.

The database name, admin user and port; the password alphabet; the backup and maintenance
windows; the cluster parameter group's values (TLS only, what an assessor wants logged); and
the secret's JSON, which the rotation function (functions/db_rotation) and the API both read.
Plain values and functions: database.py builds the resources from them, tests read them
directly.
"""

from __future__ import annotations

import json

DATABASE_NAME = "payments"
MASTER_USERNAME = "payments_admin"
PORT = 5432
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


def secret_document(host: str, password: str, cluster_identifier: str) -> str:
    """The secret's JSON: the shape AWS's PostgreSQL rotation functions use, plus ``url``."""
    return json.dumps(
        {
            "engine": "postgres",
            "host": host,
            "port": PORT,
            "username": MASTER_USERNAME,
            "password": password,
            "dbname": DATABASE_NAME,
            "dbClusterIdentifier": cluster_identifier,
            "url": f"postgresql://{MASTER_USERNAME}:{password}@{host}:{PORT}/{DATABASE_NAME}"
            "?sslmode=verify-full",
        }
    )
