"""The network tier."""
