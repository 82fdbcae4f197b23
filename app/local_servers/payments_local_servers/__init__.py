"""Local servers for tests, `make dev` and benchmarks, free of pytest.

- `payments_local_servers.postgres`: PostgreSQL over TLS in a temporary directory, with its
  own CA (`PostgresServer`, `DatabaseCredentials`);
- `payments_local_servers.certificates`: that test CA and the certificates it signs
  (`generate_ca`);
- `payments_local_servers.api`: the real API (`python -m payments_api.serve`) over HTTPS in a
  subprocess (`ApiServer`);
- `payments_local_servers.secrets_rotation`: Secrets Manager's side of a password rotation on
  moto's Secrets Manager (`SecretsManagerRotation`), to run a rotation function's steps.
"""
