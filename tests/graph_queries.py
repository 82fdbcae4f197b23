"""Queries the component tests share over a recorded graph; each expects exactly one match."""

from __future__ import annotations

from payments_infra.offline.graph import Graph, Resource


def only(graph: Graph, type_token: str) -> Resource:
    """The one resource of this type in the graph."""
    (resource,) = graph.of_type(type_token)
    return resource


def named(graph: Graph, type_token: str, name: str) -> Resource:
    """The one resource of this type with this physical name."""
    (resource,) = [r for r in graph.of_type(type_token) if r.physical_name == name]
    return resource


def in_component(graph: Graph, type_token: str, component: str) -> Resource:
    """The one resource of this type created by the named component."""
    (resource,) = [r for r in graph.of_type(type_token) if r.name.startswith(f"{component}-")]
    return resource
