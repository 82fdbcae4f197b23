"""The tags every taggable resource carries.

Environment, CostCenter, Project and Stack are the provider's ``default_tags`` (one explicit
``aws.Provider`` for the whole stack, see provider.py), so AWS applies them to every
resource that takes tags, including any added later. ``Name`` differs per resource,
so each resource sets it itself with ``name_tag``.
"""

from __future__ import annotations

from payments_infra.config import StackConfig

# Fixed by the customer: every resource is production and billed to payments, whichever stack.
REQUIRED_TAGS = {"Environment": "production", "CostCenter": "payments"}
REQUIRED_TAG_KEYS = (*REQUIRED_TAGS, "Name", "Project", "Stack")


def default_tags(config: StackConfig) -> dict[str, str]:
    """The tags the stack's provider puts on every resource."""
    return {**REQUIRED_TAGS, "Project": config.project, "Stack": config.stack}


def name_tag(name: str, **extra: str) -> dict[str, str]:
    """A resource's own tags: its physical name, plus any extra ones (e.g. ``Tier``)."""
    return {"Name": name, **extra}
