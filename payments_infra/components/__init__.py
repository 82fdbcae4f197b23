"""One ComponentResource per tier, and platform.py wiring them like the architecture diagram."""
