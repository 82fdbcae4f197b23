"""Who may reach whom: one line per arrow of the architecture diagram (docs/architecture.md).

Each arrow opens egress on its source and ingress on its target, both named
``{source}-to-{target}-{suffix}`` (aws/security_groups.py, ``allow``), on the groups
components/network/security_groups.py makes empty. platform.py opens them all before the
tiers, which wait for the paths they use (``network_paths``) and for the ways to AWS's APIs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.aws.security_groups import HTTPS_PORT, Peer, allow
from payments_infra.components.api.task_definition import CONTAINER_PORT
from payments_infra.components.database.aurora import PORT
from payments_infra.components.network.security_groups import (
    SecurityGroups,
    alb_clients,
    allow_listed,
    to_aws_apis,
)
from payments_infra.config import StackConfig


@dataclass(frozen=True, kw_only=True)
class NetworkPaths:
    """The rules a tier's first resources wait for: what the API's tasks and the password
    rotation function use (the others wait for nothing: the ALB's clients, for instance)."""

    api_tasks: list[pulumi.Resource]
    db_rotation: list[pulumi.Resource]


def open_network_paths(
    groups: SecurityGroups,
    config: StackConfig,
    *,
    s3_prefix_list_id: pulumi.Input[str],
    cloudfront_prefix_list_id: str | None,
) -> NetworkPaths:
    """Every arrow of the diagram, once."""
    for client in alb_clients(config.service.ingress, cloudfront_prefix_list_id):
        allow(client, groups.alb, HTTPS_PORT, "HTTPS to the ALB; port 80 stays closed")
    s3 = Peer(label="s3", prefix_list_id=s3_prefix_list_id)
    api_tasks = [
        *allow(groups.alb, groups.api_tasks, CONTAINER_PORT, "Requests to the API"),
        *allow(groups.api_tasks, groups.database, PORT, "PostgreSQL over TLS"),
        *to_aws_apis(groups.api_tasks, groups.endpoints, image_layers=s3),
    ]
    for destination, port in dict.fromkeys(config.egress_allow_list):  # one rule each
        allow(groups.api_tasks, allow_listed(destination, port), port, "payments:egressAllowList")
    db_rotation: list[pulumi.Resource] = []
    if groups.db_rotation is not None:
        db_rotation += allow(groups.db_rotation, groups.database, PORT, "Password changes")
        db_rotation += to_aws_apis(groups.db_rotation, groups.endpoints)
    return NetworkPaths(api_tasks=api_tasks, db_rotation=db_rotation)
