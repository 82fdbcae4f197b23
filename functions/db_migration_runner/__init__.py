"""The database migrations as a one-off ECS task during a deploy; the handler is handler.handler."""
