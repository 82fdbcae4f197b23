"""The alternating-users test rig: the roles the API's migrations make, the three secrets
(master's, app login's, keys login's) in moto's Secrets Manager, and the Rig that reads them
and logs in to the real server as a task would."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from payments_local_servers.postgres import DatabaseCredentials, PostgresServer
from payments_local_servers.secrets_rotation import SecretsManagerRotation
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from functions.db_rotation import secret_versions
from payments_infra.components.database.aurora import secret_document

# The API's migrations make the roles (app/api/payments_api/migrations): after the repository
# root on the path, so that `tests` stays this repository's package.
API_DIR = Path(__file__).resolve().parents[3] / "app" / "api"
if str(API_DIR) not in sys.path:
    sys.path.append(str(API_DIR))
from payments_api import roles  # noqa: E402
from payments_api.migrate import Login, ensure_login  # noqa: E402
from payments_api.migrations import upgrade  # noqa: E402

REGION = "us-east-1"
# The group roles of the migrations (the tests import them from here, after the path is set).
APP_GROUP, KEYS_GROUP, GROUPS = roles.APP_GROUP, roles.KEYS_GROUP, roles.GROUPS
# The users the secrets name first (the stack's aurora.APP_LOGIN and KEYS_LOGIN).
APP_USER, KEYS_USER = roles.APP_LOGIN_USERS[0], roles.KEYS_LOGIN_USERS[0]


def create_roles(master: DatabaseCredentials) -> None:
    """The least-privilege roles, by the API's own migrations run as the master (the
    database's owner, CREATEROLE, not a superuser, as on Aurora): the group roles
    payments_app and payments_keys with their grants, and two LOGIN users in each, created
    with no password (payments_api.roles)."""
    upgrade(master.conninfo())


def drop_roles(postgres: PostgresServer, dbname: str, master_user: str) -> None:
    """Undo create_roles (roles belong to the whole server, and each test makes its own):
    the database, then the roles."""
    with postgres.connect() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        logins = [user for users in GROUPS.values() for user in users]
        for role in [*logins, *GROUPS, master_user]:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@dataclass(frozen=True)
class Rig:
    """The master's secret and one secret per login in moto's Secrets Manager, for a database
    of the real server with create_roles' roles, and rotations of the app login's secret."""

    client: Any
    arn: str
    master_arn: str
    keys_arn: str
    rotations: SecretsManagerRotation
    master: DatabaseCredentials
    postgres: PostgresServer

    def current(self, arn: str | None = None) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=arn or self.arn, VersionStage="AWSCURRENT")
        return dict(json.loads(value["SecretString"]))

    def pending(self, token: str) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=self.arn, VersionId=token)
        return dict(json.loads(value["SecretString"]))

    def put_pending(self, token: str, document: dict[str, Any]) -> None:
        """Write the value of version ``token`` before createSecret does (which keeps it)."""
        self.client.put_secret_value(
            SecretId=self.arn,
            ClientRequestToken=token,
            SecretString=json.dumps(document),
            VersionStages=["AWSPENDING"],
        )

    def put_current(self, arn: str, document: dict[str, Any]) -> None:
        self.client.put_secret_value(SecretId=arn, SecretString=json.dumps(document))

    def stages(self, arn: str | None = None) -> dict[str, list[str]]:
        versions = self.client.describe_secret(SecretId=arn or self.arn)["VersionIdsToStages"]
        return {version: sorted(labels) for version, labels in versions.items()}

    def connect(self, document: dict[str, Any]) -> psycopg.Connection[Any]:
        """A connection as the document's url says (what a task does with the secret)."""
        return psycopg.connect(
            str(document["url"]), sslrootcert=str(self.master.sslrootcert), autocommit=True
        )

    def logs_in(self, username: str, password: str) -> bool:
        try:
            with psycopg.connect(conninfo(self.master, username, password)) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as error:
            assert "password authentication failed" in str(error), error
            return False
        return True

    def admin(self, statement: str, *identifiers: str) -> None:
        """A statement as the server's superuser in the rig's database."""
        with self.postgres.connect(self.master.dbname) as conn:
            conn.execute(sql.SQL(statement).format(*(sql.Identifier(i) for i in identifiers)))


def conninfo(database: DatabaseCredentials, username: str, password: str) -> str:
    """libpq's settings for this user of the database, TLS verify-full."""
    return make_conninfo(
        host=database.host,
        port=database.port,
        dbname=database.dbname,
        user=username,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(database.sslrootcert),
    )


def document_for(
    database: DatabaseCredentials, username: str, password: str, master_arn: str | None = None
) -> dict[str, Any]:
    """A secret's JSON as the stack writes it (aurora.secret_document), for this database."""
    document: dict[str, Any] = json.loads(
        secret_document(
            database.host,
            password,
            "aurora-x",
            username=username,
            master_secret_arn=master_arn,
        )
    )
    document.update(port=database.port, dbname=database.dbname)
    document["url"] = secret_versions.connection_url(document)
    return document


def set_login_password(master: DatabaseCredentials, group: str, user: str, password: str) -> None:
    """The migration step for a login's secret (payments_api.migrate): set the password of
    the user the secret names when it cannot log in with it, as the master."""
    params = {
        "host": master.host,
        "port": str(master.port),
        "dbname": master.dbname,
        "user": master.user,
        "password": master.password,
        "sslmode": "verify-full",
        "sslrootcert": str(master.sslrootcert),
    }
    ensure_login(params, Login(f"{group}_USER", group, user, password))


def url_credentials(url: str) -> dict[str, str]:
    """What libpq reads from the url (percent-decoding included)."""
    return {k: str(v) for k, v in conninfo_to_dict(url).items()}


def assert_no_values(error: BaseException, *documents: dict[str, Any]) -> None:
    """An error message names keys and versions, never a password, url or user name."""
    message = str(error)
    for document in documents:
        for key in ("password", "url", "username"):
            if document.get(key):
                assert str(document[key]) not in message, key


def can_use_payments(rig: Rig, document: dict[str, Any]) -> bool:
    """The document's user logs in with its url and reads payments (its group's grant)."""
    with rig.connect(document) as conn:
        row = conn.execute("SELECT count(*) FROM payments").fetchone()
    return row is not None
