"""The production checklist, enforced: what a stack that protects its data must also have.

A stack with ``payments:protectData`` is one whose data matters: that is what "production"
means here (the Environment tag is a label; this is a decision someone took). Such a stack is
refused by the preflight of ``make up`` until the rest of the checklist holds as well, each
item with the setting that fixes it. docs/deploy.md's "Production checklist" is this list.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payments_infra import PROJECT, REPO_ROOT
from payments_infra.config.choices import LogArchive
from payments_infra.config.errors import ConfigError
from payments_infra.config.stack_config import StackConfig
from payments_infra.offline.protection import protects_data
from payments_infra.offline.stack_file import read_stack_config, stack_file_path


@dataclass(frozen=True)
class Item:
    """One item of the checklist: when a protected stack fails it, and how to fix it."""

    fails: str
    fix: str

    def sentence(self) -> str:
        return f"{self.fails}: {self.fix}"


def checklist(config: StackConfig) -> list[Item]:
    """The items a protected stack fails; empty for an unprotected one (a demo may skip all)."""
    if not config.database.protect_data:
        return []
    items = []
    if config.account_id is None:
        items.append(
            Item(
                "payments:accountId is not set",
                "name the one AWS account the stack may deploy into (the provider then "
                "refuses any other account's credentials)",
            )
        )
    if not config.observability.alert_emails:
        items.append(
            Item(
                "payments:alertEmails is empty, so every alarm reaches nobody",
                'subscribe on-call, e.g. payments:alertEmails: ["payments-oncall@example.com"], '
                "and confirm AWS's e-mail",
            )
        )
    certificates = config.certificates
    if not (certificates.domain_name or certificates.certificate_arn):
        items.append(
            Item(
                "the stack is in certificate mode 3 (self-signed, a demo): browsers warn and "
                "the web app cannot reach the API",
                "set payments:domainName + payments:hostedZoneId (mode 1), or "
                "payments:certificateArn + payments:apiDomainName (mode 2)",
            )
        )
    if config.observability.log_archive == LogArchive.NONE:
        items.append(
            Item(
                "payments:logArchive is none: the logs are kept 30 days, and PCI DSS 10.5.1 "
                "asks for 12 months",
                "set payments:logArchive to s3 (a 365-day archive)",
            )
        )
    if config.database.rotation_days == 0:
        items.append(
            Item(
                "payments:dbRotationDays is 0: the database password never changes",
                "set it to 30 (the default) or another number of days",
            )
        )
    return items


def production_problems(raw_config: Mapping[str, Any], stack: str) -> list[str]:
    """One sentence per checklist item a protected stack fails (preflight, ``make up``)."""
    try:
        config = StackConfig.from_mapping(
            {k: str(v) for k, v in raw_config.items()}, project=PROJECT, stack=stack
        )
    except ConfigError:
        return []  # the plan of the stack reports bad settings with every detail
    return [
        f"payments:protectData marks Pulumi.{stack}.yaml as production, but {item.sentence()}"
        for item in checklist(config)
    ]


def policy_pack_args(raw_config: Mapping[str, Any], root: Path) -> list[str]:
    """The policy pack's arguments for ``pulumi preview``/``up``: the pack on every stack, its
    production rules mandatory (``policy/production.json``) on a protected one."""
    args = ["--policy-pack", str(root / "policy")]
    if protects_data(raw_config):
        args += ["--policy-pack-config", str(root / "policy" / "production.json")]
    return args


def main(argv: list[str] | None = None) -> int:
    """``--policy-args --stack S``: print the policy pack arguments for the Makefile."""
    parser = argparse.ArgumentParser(description="The production checklist and policy pack")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--policy-args", action="store_true", required=True)
    args = parser.parse_args(argv)
    raw = read_stack_config(stack_file_path(REPO_ROOT, args.stack))
    print(shlex.join(policy_pack_args(raw, REPO_ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
