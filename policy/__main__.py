"""The PCI DSS policy pack: `pulumi preview --policy-pack policy` (rules in rules.py)."""

import sys
from pathlib import Path

# The pack runs from this folder in its own virtualenv; the rules reuse the program's checks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.rules import POLICIES

PolicyPack(
    name="payments-pci",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=list(POLICIES),
)
