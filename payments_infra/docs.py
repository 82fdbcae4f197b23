"""The settings table of docs/settings.md, generated from ``config.SETTINGS`` so it cannot drift.

python -m payments_infra.docs          # rewrite the table in docs/settings.md (make docs)
python -m payments_infra.docs --check  # exit 1 if docs/settings.md is out of date
"""

from __future__ import annotations

import sys

from payments_infra.config import SETTINGS
from payments_infra.recording import REPO_ROOT

SETTINGS_PAGE = REPO_ROOT / "docs" / "settings.md"
PAGE_NAME = SETTINGS_PAGE.relative_to(REPO_ROOT).as_posix()
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def settings_table() -> str:
    rows = [
        "| key | type | default | rule | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f"| `{s.key}` | {s.type} | {s.default} | {s.rule} | {s.description} |" for s in SETTINGS
    ]
    return "\n".join(rows)


def with_table(page: str) -> str:
    """``page`` with the text between the markers replaced by the generated table."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise ValueError(f"{PAGE_NAME} must hold {START} once, then {END} once")
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    try:
        current = SETTINGS_PAGE.read_text()
        wanted = with_table(current)
    except (OSError, ValueError) as error:
        print(f"{PAGE_NAME}: {error}", file=sys.stderr)
        return 1
    if "--check" in argv:
        if current != wanted:
            print(
                f"{PAGE_NAME}: the settings table is out of date: run make docs "
                "(python -m payments_infra.docs)",
                file=sys.stderr,
            )
            return 1
        return 0
    SETTINGS_PAGE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
