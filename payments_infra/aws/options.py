"""Resource options the components share: waiting for what AWS needs first, and aliases.

``after``: a creation order AWS needs but no input expresses (creation_order.py checks them
on the graph).

Aliases keep a resource in place when the code moves it to another component. A resource's
URN includes its parent's type: created under a new component, a deployed resource would get
a new URN, and ``pulumi up`` would replace it (a bucket or a role deleted and made again). An
alias names the URN it had, so the engine updates it in place instead.

The components split out of a bigger one keep that one's name, so their children keep their
logical names and one alias covers them all: "formerly a child of the ``<type>`` component
of my name, under my parent" (``formerly_under_sibling``), or "formerly a child of my parent"
(``formerly_under_parent``).
"""

from __future__ import annotations

import pulumi


def after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
    """``opts`` (a component's options for its children) plus waiting for ``resources``."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(resources)))


def formerly_under_sibling(
    component_type: str, name: str, opts: pulumi.ResourceOptions | None
) -> pulumi.Alias:
    """For children of a component that came out of the ``component_type`` component named
    ``name`` with the same parent (``opts.parent``); that component need not exist yet."""
    parent = opts.parent if opts is not None else None
    return pulumi.Alias(parent=pulumi.create_urn(name, component_type, parent=parent))


def formerly_under_parent(opts: pulumi.ResourceOptions | None) -> pulumi.Alias:
    """For children of a component that came out of its own parent (``opts.parent``)."""
    return pulumi.Alias(parent=opts.parent if opts is not None else None)
