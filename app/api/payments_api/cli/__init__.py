"""Command-line tools run in the API image as one-off tasks (docs/deploy.md, API keys)."""
