"""How long `make plan` takes: the offline plan, as a fresh process, timed end to end.

    .venv/bin/python bench/plan_bench.py [--runs 10]

Prints min, median and max wall-clock seconds over the runs, plus the resource count, and
the machine it ran on. The figure goes into docs/performance.md with this command; the target is
under 3 s on a 2-core machine for the full stack.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    timings = []
    with tempfile.TemporaryDirectory() as scratch:
        graph_file = Path(scratch) / "plan.json"
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "payments_infra.offline.plan", "--json", str(graph_file)],
                cwd=REPO_ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            timings.append(time.perf_counter() - started)
        resources = len(json.loads(graph_file.read_text())["resources"])
    print(
        f"offline plan, {resources} resources, {args.runs} runs: "
        f"min {min(timings):.2f} s, median {statistics.median(timings):.2f} s, "
        f"max {max(timings):.2f} s wall "
        f"({os.cpu_count()} cores, Python {platform.python_version()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
