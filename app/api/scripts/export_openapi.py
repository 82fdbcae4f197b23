"""Write the API's OpenAPI document for the web app, which generates its TypeScript types from it.

    cd app/api && ../../.venv/bin/python -m scripts.export_openapi  # writes the document,
    cd app/web && npm run gen:types  # then the types from it

The document is app/web/src/api/openapi.json, the types app/web/src/api/schema.d.ts; commit both.

The app is built as `create_app` builds it, with every setting at its default and none read from
the environment, so the document does not depend on who runs this. Building the app connects to
nothing (the lifespan opens the database pool, at start-up), so no database is needed.
tests/test_openapi.py fails when the committed document differs from the API's; the web app's
`npm run check:types` fails when the generated types differ from the committed document.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from payments_api.main import create_app
from payments_api.settings import Settings

API_DIR = Path(__file__).resolve().parents[1]
WEB_OPENAPI = API_DIR.parent / "web" / "src" / "api" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as GET /api/openapi.json serves it with default settings."""
    return create_app(Settings.model_construct()).openapi()


def openapi_json() -> str:
    """The document as committed: two-space indented JSON in FastAPI's key order, one final
    newline."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=WEB_OPENAPI,
        help=f"file to write (default {WEB_OPENAPI.relative_to(API_DIR.parent.parent)})",
    )
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(openapi_json())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
