"""Development scripts of the API, run from app/api as `python -m scripts.<name>`; not in the
image (.dockerignore admits only the package)."""
