"""The edge tier."""
