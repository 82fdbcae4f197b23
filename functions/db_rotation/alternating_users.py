"""Alternating users: a secret naming its master's (``masterarn``) rotates between two users,
``x`` and ``x_clone``, with the same attributes and roles; the master, logged in with its own
secret, gives the one not in use the new password, and the user in use is never touched."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pg8000.native

# Sibling modules: relative here, top-level in Lambda (functions/__init__.py).
if TYPE_CHECKING or __package__:
    from . import postgres_login, rotation_error, secret_versions
else:
    import postgres_login
    import rotation_error
    import secret_versions

LOG = logging.getLogger(__name__)
LOG.setLevel(logging.INFO)  # as the handler's: what setSecret did is logged at INFO

# Alternating users: the key naming the master's secret, and the suffix of a user's partner.
MASTER_ARN_KEY = "masterarn"
CLONE_SUFFIX = "_clone"
# The keys an alternating rotation changes; every other key of the pending version must be
# AWSCURRENT's.
ROTATED_KEYS = frozenset({"username", "password", "url"})
# The role attributes two users of a pair must share (pg_roles' columns).
ROLE_ATTRIBUTES = (
    "rolsuper",
    "rolinherit",
    "rolcreaterole",
    "rolcreatedb",
    "rolcanlogin",
    "rolreplication",
    "rolbypassrls",
)


def alternating(document: dict[str, Any]) -> bool:
    """Whether the secret rotates with alternating users: it names its master's secret."""
    return MASTER_ARN_KEY in document


def partner(username: str) -> str:
    """The other user of the pair (AWS's convention): ``x`` and ``x_clone``."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    return username + CLONE_SUFFIX


def check_partner_version(
    arn: str, token: str, current: dict[str, Any], pending: dict[str, Any]
) -> None:
    """The pending version is AWSCURRENT's with the other user of the pair: only username,
    password and url differ."""
    if pending["username"] != partner(str(current["username"])):
        raise rotation_error.RotationError(
            f"version {token} of {arn} does not name the other user of "
            f"{secret_versions.CURRENT}'s pair (the user with or without {CLONE_SUFFIX!r}); "
            "refusing it"
        )
    differ = sorted(
        key
        for key in (current.keys() | pending.keys()) - ROTATED_KEYS
        if current.get(key) != pending.get(key)
    )
    if differ:
        raise rotation_error.RotationError(
            f"version {token} of {arn} differs from {secret_versions.CURRENT} in "
            f"{', '.join(differ)}; refusing it"
        )


def set_partner_password(
    client: Any, arn: str, token: str, current: dict[str, Any], pending: dict[str, Any]
) -> None:
    """setSecret with alternating users: as the master, check the pending user is the
    current one's partner with the same roles, then give it the pending password. The
    current user is never changed: its connections and logins keep working throughout."""
    check_partner_version(arn, token, current, pending)
    master, master_arn = master_document(client, arn, current)
    if master["username"] in (current["username"], pending["username"]):
        raise rotation_error.RotationError(
            f"a version of {arn} names the master's user: the master's secret rotates "
            "single-user, on its own"
        )
    connection = login_as_master(client, arn, master_arn, current, master)
    with closing(connection):
        check_same_roles(
            role_facts(connection, str(current["username"])),
            role_facts(connection, str(pending["username"])),
        )
        already = postgres_login.login(pending)
        if already is not None:
            already.close()
            LOG.info("setSecret: the pending user already logs in with its password")
            return
        connection.run(
            postgres_login.alter_role_statement(str(pending["username"]), str(pending["password"]))
        )
    LOG.info("setSecret: the pending user has its new password; the current user is untouched")


def master_document(client: Any, arn: str, current: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The AWSCURRENT version of the master's secret, and that secret's ARN, checked: another
    secret, for the same server, itself single-user."""
    master_arn = current[MASTER_ARN_KEY]
    if not isinstance(master_arn, str) or not master_arn:
        raise rotation_error.RotationError(f"{MASTER_ARN_KEY} of {arn} is not a secret's ARN")
    label = f"the master's secret ({MASTER_ARN_KEY} of {arn})"
    found_arn, master = secret_versions.read_version(
        client, master_arn, secret_versions.CURRENT, label=label
    )
    if found_arn == arn:
        raise rotation_error.RotationError(
            f"{MASTER_ARN_KEY} of {arn} names the secret itself; it must name the master's"
        )
    if alternating(master):
        raise rotation_error.RotationError(
            f"{label} has {MASTER_ARN_KEY} itself: a master rotates single-user"
        )
    _, host, port, _ = secret_versions.target(master)
    _, current_host, current_port, _ = secret_versions.target(current)
    if (host, port) != (current_host, current_port):
        raise rotation_error.RotationError(f"{label} names another host or port than {arn}")
    return master, found_arn


def login_as_master(
    client: Any, arn: str, master_arn: str, current: dict[str, Any], master: dict[str, Any]
) -> pg8000.native.Connection:
    """A connection as the master to the rotated secret's database: with the master's
    AWSCURRENT password; else AWSPENDING's, when the master's own rotation is between its
    setSecret and its finishSecret (the three schedules start together, so they meet); else
    AWSPREVIOUS's, when the database went back to it."""
    as_master = {**current, "username": master["username"], "password": master["password"]}
    connection = postgres_login.login_falling_back(
        client,
        as_master,
        master_arn,
        (secret_versions.PENDING, secret_versions.PREVIOUS),
        label="the master's secret",
    )
    if connection is None:
        raise rotation_error.RotationError(
            f"none of the {secret_versions.CURRENT}, {secret_versions.PENDING} and "
            f"{secret_versions.PREVIOUS} passwords of the master's secret ({MASTER_ARN_KEY} of "
            f"{arn}) logs in"
        )
    return connection


@dataclass(frozen=True)
class RoleFacts:
    """What a pair's two users must share: pg_roles' attributes and direct memberships."""

    attributes: tuple[bool, ...]
    groups: frozenset[str]


ROLE_FACTS_QUERY = f"""
SELECT {", ".join(f"r.{name}" for name in ROLE_ATTRIBUTES)},
       ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid)
FROM pg_roles r WHERE r.rolname = :name
"""


def role_facts(connection: pg8000.native.Connection, username: str) -> RoleFacts | None:
    """The user's attributes and the roles it is a direct member of; None if there is no
    such role."""
    rows = connection.run(ROLE_FACTS_QUERY, name=username)
    if not rows:
        return None
    *attributes, groups = rows[0]
    return RoleFacts(tuple(bool(a) for a in attributes), frozenset(groups or ()))


def check_same_roles(current: RoleFacts | None, pending: RoleFacts | None) -> None:
    """The pending user exists, and has the current user's attributes and memberships."""
    if current is None:
        raise rotation_error.RotationError(
            f"the {secret_versions.CURRENT} user does not exist in the database"
        )
    if pending is None:
        raise rotation_error.RotationError(
            "the pending user does not exist in the database: the migrations create both "
            f"users of the pair (with and without {CLONE_SUFFIX!r})"
        )
    if pending.groups != current.groups:
        missing = ", ".join(sorted(current.groups - pending.groups)) or "none"
        extra = ", ".join(sorted(pending.groups - current.groups)) or "none"
        raise rotation_error.RotationError(
            "the pending user is not a member of the same roles as the "
            f"{secret_versions.CURRENT} user (missing: {missing}; extra: {extra}); the "
            "migrations grant both users of the pair"
        )
    if pending.attributes != current.attributes:
        differ = [
            name
            for name, a, b in zip(
                ROLE_ATTRIBUTES, current.attributes, pending.attributes, strict=True
            )
            if a != b
        ]
        raise rotation_error.RotationError(
            f"the pending user's {', '.join(differ)} differs from the "
            f"{secret_versions.CURRENT} user's"
        )
