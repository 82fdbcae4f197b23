"""The settings of the database tier (``StackConfig.database``), declared once each: Aurora's
engine version and capacity, its backups, the master password's rotation, and whether the data
outlives a destroy (settings.py says how a declaration reads, and lists every setting).
"""

from __future__ import annotations

from payments_infra.config.limits import (
    MIN_DB_MAJOR,
    _capacity,
    _engine_version,
)
from payments_infra.config.setting import (
    CreationOnly,
    Setting,
    text_where,
    true_or_false,
    whole_number_from,
)

DB_ENGINE_VERSION: Setting[str] = Setting(
    key="payments:dbEngineVersion",
    type="string",
    default="17",
    rule=f"an Aurora PostgreSQL version such as 17 or 17.6, major {MIN_DB_MAJOR} or newer",
    description="A major version takes the region's default minor version for it at "
    "creation; Aurora applies later minor versions itself in the maintenance window.",
    parse=text_where(_engine_version),
    creation_only=CreationOnly(
        "its major version (the minor may change) picks the cluster parameter group's "
        "`family`, which cannot change in place, while the program leaves the cluster's "
        "`engine_version` to Aurora: a major upgrade is an RDS operation, not a setting",
        part=lambda version: str(version).split(".", 1)[0],
    ),
)
DB_MIN_CAPACITY: Setting[float] = Setting(
    key="payments:dbMinCapacity",
    type="number (ACU)",
    default=1.0,
    rule="0.5 to 256 in steps of 0.5",
    description="Aurora Serverless v2 floor of the writer and the reader (1 ACU is about "
    "2 GiB of memory). The reader scales with the writer, so a failover lands warm.",
    parse=_capacity(0.5),
)
DB_MAX_CAPACITY: Setting[float] = Setting(
    key="payments:dbMaxCapacity",
    type="number (ACU)",
    default=16.0,
    rule="1.0 to 256 in steps of 0.5",
    description="Aurora Serverless v2 ceiling: caps the cost of a load spike.",
    parse=_capacity(1.0),
)
DB_BACKUP_RETENTION_DAYS: Setting[int] = Setting(
    key="payments:dbBackupRetentionDays",
    type="integer",
    default=7,
    # A week at least (time to notice and recover); 35 is the most AWS keeps.
    rule="a whole number from 7 to 35",
    description="Days of automated backups and point-in-time recovery.",
    parse=whole_number_from(7, 35),
)
DB_ROTATION_DAYS: Setting[int] = Setting(
    key="payments:dbRotationDays",
    type="integer",
    default=30,
    rule="0 (off) or a whole number from 1 to 365",
    description="Rotate the master password every N days with the stack's own rotation "
    "function, which keeps every key of the secret (url included) consistent. 0 turns "
    "rotation off, with a warning in the plan (PCI DSS 8.3.9).",
    parse=whole_number_from(0, 365),
)
PROTECT_DATA: Setting[bool] = Setting(
    key="payments:protectData",
    type="boolean",
    default=False,
    rule="true or false",
    description="Keep the database through any destroy: Aurora deletion protection and a "
    "final snapshot on delete, Pulumi's `protect` on the cluster, its KMS key (and alias) "
    "and the database secret, and a 7-day recovery window for the secret. `make down` then "
    "refuses and names the steps (keep the data, turn this off and commit it, `make up`, "
    "`make down`: docs/deploy.md, Protecting the data). Off, every stack destroys with no "
    "manual step; a production stack turns it on.",
    parse=true_or_false,
)
