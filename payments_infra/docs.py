"""The README's settings table, generated from ``config.SETTINGS`` so it cannot drift.

python -m payments_infra.docs          # rewrite the table in README.md
python -m payments_infra.docs --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import sys

from payments_infra.config import SETTINGS
from payments_infra.recording import REPO_ROOT

README = REPO_ROOT / "README.md"
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


def with_table(readme: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{settings_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    current = README.read_text()
    wanted = with_table(current)
    if "--check" in argv:
        if current != wanted:
            print("README.md settings table is out of date: run python -m payments_infra.docs")
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
