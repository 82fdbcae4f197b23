"""Local servers for tests, `make dev` and benchmarks, free of pytest.

- `payments_local_servers.postgres`: PostgreSQL over TLS in a temporary directory, with its
  own CA (`PostgresServer`, `DatabaseCredentials`, `generate_ca`);
- `payments_local_servers.api`: the real API (`python -m payments_api.serve`) over HTTPS in a
  subprocess (`ApiServer`).
"""
