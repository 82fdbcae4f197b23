"""Helpers shared by the tests (factories, settings, the subprocess server)."""
