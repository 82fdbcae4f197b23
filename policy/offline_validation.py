"""The pack's rules run without the Pulumi engine: the validation arguments the engine would
pass, built from a recorded graph, and what a rule reports for them (the tests' way in).
"""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from payments_infra.offline.graph import Graph, Resource, revealed
from policy.rules import Rule, StackRule


def violations(rule: Rule, args: ResourceValidationArgs) -> list[str]:
    """What a rule reports for one resource (used by the tests)."""
    found: list[str] = []
    rule.policy().validate(args, lambda message, _urn=None: found.append(message))  # type: ignore[misc]
    return found


def stack_violations(rule: StackRule, args: StackValidationArgs) -> list[str]:
    """What a stack rule reports for the whole stack (used by the tests)."""
    found: list[str] = []
    rule.policy().validate(args, lambda message, _urn=None: found.append(message))  # type: ignore[misc]
    return found


def args_for(resource: Resource, graph: Graph) -> ResourceValidationArgs:
    """Validation arguments for a recorded resource, as the engine would pass them."""
    from pulumi_policy import PolicyProviderResource, PolicyResourceOptions  # noqa: PLC0415

    provider_resource = graph.provider_of(resource) if resource.provider else None
    provider = (
        PolicyProviderResource(
            resource_type=provider_resource.type,
            props=provider_resource.inputs,
            urn=provider_resource.urn,
            name=provider_resource.name,
        )
        if provider_resource
        else None
    )
    options = PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=resource.ignore_changes,
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        additional_secret_outputs=[],
    )
    # The engine hands policies secret values in plain text (Pulumi's CrossGuard FAQ).
    props: dict[str, Any] = json.loads(
        json.dumps(revealed(resource.inputs), default=lambda _: "[asset]")
    )
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=props,
        urn=resource.urn,
        name=resource.name,
        opts=options,
        provider=provider,
    )


def stack_args_for(graph: Graph) -> StackValidationArgs:
    """Stack validation arguments for a recorded graph, as the engine passes them after an
    update: each resource's inputs, the values the provider computed, and its id."""
    from pulumi_policy import PolicyResource, PolicyResourceOptions  # noqa: PLC0415

    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=None,  # type: ignore[arg-type]
        additional_secret_outputs=[],
    )
    resources = [
        PolicyResource(
            resource_type=r.type,
            props=json.loads(
                json.dumps({**r.outputs, **r.inputs, "id": r.id}, default=lambda _: "[secret]")
            ),
            urn=r.urn,
            name=r.name,
            opts=options,
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
        for r in graph
        if r.custom
    ]
    return StackValidationArgs(resources)
