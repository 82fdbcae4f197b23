"""Resource options the components share: waiting for what AWS needs first.

``after``: a creation order AWS needs but no input expresses (creation_order.py checks them
on the graph).

No aliases: nothing is deployed yet, so a resource that moves to another component or gets
another logical name is simply a new one. After the first deploy, a move must carry a
``pulumi.Alias`` naming the URN it had, or ``pulumi up`` replaces it (a bucket or a role
deleted and made again); ``tests/unit/test_graph_is_reviewed.py`` then refuses a reviewed
resource that moves without one.
"""

from __future__ import annotations

import pulumi


def after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
    """``opts`` (a component's options for its children) plus waiting for ``resources``."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(resources)))
