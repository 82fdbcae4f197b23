"""The payments platform as a Pulumi program, in three layers:

- ``config/``: the stack's settings, declared once and validated at the edge;
- ``components/``: one ComponentResource per tier, and ``platform.py`` wiring them;
- ``aws/``: building blocks every tier shares (names, tags, keys, logs, roles, ...);
- ``offline/``: what runs without AWS (graph model, mocks, checks, plan, cost, docs,
  preflight). Deploy code never imports it.
"""

from pathlib import Path

# The project root: Pulumi.yaml, __main__.py and the web app's build live under it.
REPO_ROOT = Path(__file__).resolve().parent.parent
# The Pulumi project's name (Pulumi.yaml): the Project tag the stack puts on every resource,
# which the offline tooling and preflight recognise the stack's resources by.
PROJECT = "payments"
