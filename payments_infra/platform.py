"""PaymentsPlatform: wires the tiers together, and nothing else.

Each tier is one component; this class only hands one component's output attributes to the
next one's Args, so it reads like the architecture diagram in the README.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from payments_infra.config import StackConfig
from payments_infra.network import Network, NetworkArgs


@dataclass(frozen=True, kw_only=True)
class PaymentsPlatformArgs:
    """Inputs of the whole platform."""

    config: StackConfig
    """The validated stack settings. Required."""
    availability_zones: list[str]
    """The three zones to build in (provider.resolve_availability_zones). Required."""
    account_id: pulumi.Input[str]
    """The AWS account the stack deploys into. Required."""


class PaymentsPlatform(pulumi.ComponentResource):
    """The payments platform: network today; database, API, frontend and observability next."""

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

        self.register_outputs({"vpc_id": self.network.vpc_id})
