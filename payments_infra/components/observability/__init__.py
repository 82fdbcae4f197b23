"""The observability tier."""
