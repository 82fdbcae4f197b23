"""PaymentsPlatform: wires the tiers together, and nothing else.

Each tier is one component; this class only hands one component's output attributes to the
next one's Args, so it reads like the architecture diagram in the README.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.config import StackConfig
from payments_infra.database import Database, DatabaseArgs
from payments_infra.network import Network, NetworkArgs
from payments_infra.provider import EngineVersion


@dataclass(frozen=True, kw_only=True)
class PaymentsPlatformArgs:
    """Inputs of the whole platform."""

    config: StackConfig
    """The validated stack settings. Required."""
    availability_zones: list[str]
    """The three zones to build in (provider.resolve_availability_zones). Required."""
    account_id: pulumi.Input[str]
    """The AWS account the stack deploys into. Required."""
    db_engine: EngineVersion
    """The exact Aurora version (provider.resolve_engine_version). Required."""


class PaymentsPlatform(pulumi.ComponentResource):
    """The payments platform: network and database today; API, frontend, observability next."""

    def __init__(
        self, name: str, args: PaymentsPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:platform:PaymentsPlatform", name, None, opts)
        config = args.config

        self.network = Network(
            "network",
            NetworkArgs(
                environment_suffix=config.environment_suffix,
                vpc_cidr=config.vpc_cidr,
                availability_zones=args.availability_zones,
                account_id=args.account_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.database = Database(
            "database",
            DatabaseArgs(
                environment_suffix=config.environment_suffix,
                settings=config.database,
                engine=args.db_engine,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                availability_zones=self.network.availability_zones,
                client_security_group_id=self.network.task_security_group_id,
                account_id=args.account_id,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs(
            {"vpc_id": self.network.vpc_id, "db_secret_arn": self.database.secret_arn}
        )
