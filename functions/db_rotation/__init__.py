"""Rotation of the database secret's password; the Lambda handler is handler.handler."""
