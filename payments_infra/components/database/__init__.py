"""The database tier."""
