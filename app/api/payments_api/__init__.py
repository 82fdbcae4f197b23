"""Payments API: FastAPI service that records payments in PostgreSQL.

Modules: `main` (application factory), `settings`, `deps`, `routes/` (health, payments),
`models`, `store` (SQL), `db` (connection pool and credential refresh), `logging` (JSON logs),
`serve` (HTTPS entry point), `currencies` (ISO 4217 codes), `cards` (card number detection),
`cursor` (opaque pagination cursors).
"""
