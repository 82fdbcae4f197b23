"""The api tier."""
