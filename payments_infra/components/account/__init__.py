"""The account tier."""
