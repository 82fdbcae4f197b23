"""The database roles of the payments ledger: one place for their names.

The migrations (payments_api/migrations/versions/0002_roles.py) create them and grant their
rights; `python -m payments_api.migrate` sets a login's password from its secret; the
infrastructure names the secrets' users with these same literals (a test compares them).

Rights belong to two group roles (NOLOGIN), never to a login:

- APP_GROUP, the API: SELECT and INSERT on payments (an append-only ledger: no UPDATE,
  DELETE or TRUNCATE), SELECT on api_keys.
- KEYS_GROUP, the key CLI (`python -m payments_api.cli.api_keys`): SELECT and INSERT on api_keys,
  UPDATE of its revoked_at column only; nothing on payments.

Each group has two login roles (LOGIN, INHERIT, created without a password), for AWS's
alternating-users rotation: the rotation function sets the password of the user that is not
in use, so one of the two always logs in. Being members of one group, both have exactly the
same rights. Neither group may create, alter or drop anything: the tables belong to the master
user that runs the migrations.
"""

from __future__ import annotations

import re
from typing import Final

APP_GROUP: Final = "payments_app"
APP_LOGIN_USERS: Final = ("payments_api", "payments_api_clone")
KEYS_GROUP: Final = "payments_keys"
KEYS_LOGIN_USERS: Final = ("payments_keys_cli", "payments_keys_cli_clone")

# Each group and its login users.
GROUPS: Final = {APP_GROUP: APP_LOGIN_USERS, KEYS_GROUP: KEYS_LOGIN_USERS}

# Plain lower-case identifiers: they go into SQL as they are, unquoted.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
for _name in (*GROUPS, *APP_LOGIN_USERS, *KEYS_LOGIN_USERS):
    if not _IDENTIFIER.match(_name):
        raise ValueError(f"role name {_name!r} is not a plain lower-case SQL identifier")
