"""The frontend tier."""
