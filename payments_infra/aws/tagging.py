"""The tags every taggable resource carries.

Environment, CostCenter, Project and Stack are the provider's ``default_tags`` (one explicit
``aws.Provider`` for the whole stack, see provider.py), so AWS applies them to every
resource that takes tags, including any added later. ``Name`` differs per resource,
so each resource sets it itself with ``name_tag``.

``Environment`` is the stack's ``payments:environment`` (production unless the stack says
otherwise: docs/environments.md); ``CostCenter`` is fixed.
"""

from __future__ import annotations

from payments_infra.config import Environment, StackConfig

# Fixed by the customer: every resource is billed to payments, whichever stack.
REQUIRED_TAGS = {"CostCenter": "payments"}
ENVIRONMENT_TAG = "Environment"
# The values the Environment tag may take: payments:environment's choices.
ENVIRONMENTS = tuple(environment.value for environment in Environment)
REQUIRED_TAG_KEYS = (ENVIRONMENT_TAG, *REQUIRED_TAGS, "Name", "Project", "Stack")


def default_tags(config: StackConfig) -> dict[str, str]:
    """The tags the stack's provider puts on every resource."""
    return {
        ENVIRONMENT_TAG: config.environment.value,
        **REQUIRED_TAGS,
        "Project": config.project,
        "Stack": config.stack,
    }


def name_tag(name: str, **extra: str) -> dict[str, str]:
    """A resource's own tags: its physical name, plus any extra ones (e.g. ``Tier``)."""
    return {"Name": name, **extra}
