"""Helpers shared by the tests (factories, settings, waiting for readiness)."""
