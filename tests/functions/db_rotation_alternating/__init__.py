"""functions/db_rotation with alternating users: the secrets of the least-privilege logins name
the master's secret in ``masterarn``; each rotation gives the other user of the pair
(``x`` / ``x_clone``) a new password, logged in as the master, and never touches the user in
use. Against moto's Secrets Manager and a real PostgreSQL server over TLS (verify-full), as
the function runs them, on a database migrated by the API's own migrations (app/api), whose
roles are the contract: payments_app and payments_keys holding the grants, and two LOGIN users
in each (payments_api and payments_api_clone, payments_keys_cli and its clone).

alternating_rig.py holds the Rig and its helpers; conftest.py the ``postgres`` and ``rig``
fixtures."""
