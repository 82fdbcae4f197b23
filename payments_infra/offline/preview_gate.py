"""The preview gate: `make up` stops before `pulumi up` replaces or deletes what holds data.

    pulumi preview --stack prod --json > build/preview-prod.json
    python -m payments_infra.offline.preview_gate --stack prod [--confirm NAMES] \
        [--preview-status N] build/preview-prod.json      # or - for stdin

`make up` runs `pulumi preview --json` against the deployed stack, then this. It prints a
summary of every change the preview holds (the human's view of the diff), then one sentence,
on stderr, for each stateful resource (``STATEFUL``) the update would replace or delete, and
stops (exit 1) unless each of them is confirmed by URN or logical name in ``--confirm``
(``make up CONFIRM_REPLACE="database-cluster,..."``). Everything else goes ahead, a stateless
replacement included (a subnet, a certificate). The confirmation holds for this one run: it is
a command-line value, checked against this preview, and names nothing in advance.

What it reads is the document `pulumi preview --json` prints (preview_json.py). By default
the CLI shows a replacement as one ``replace`` step (``create-replacement`` and
``delete-replaced`` only with ``--show-replacement-steps``) and leaves ``same`` steps out
(``--show-sames``); each is handled either way. An operation this gate does not know counts
as destructive: it fails closed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from payments_infra.offline.preview_json import Preview, PreviewError, Step, read_preview

PREFIX = "preview gate"
DOCS = "docs/deploy.md, Changing a deployed stack"


@dataclass(frozen=True)
class Stateful:
    """A resource type whose replacement or deletion loses something: what it is, and what."""

    what: str
    """How the sentence names it: ``the Aurora cluster``."""
    why: str
    """What is lost, as the sentence says it."""


# The stateful types, each with its reason (docs/deploy.md, Changing a deployed stack, shows
# this table). A replacement is a new, empty resource and the deletion of the old one.
STATEFUL: Mapping[str, Stateful] = {
    "aws:rds/cluster:Cluster": Stateful(
        "the Aurora cluster",
        "it holds the payments data, a new cluster starts empty, and unless "
        "payments:protectData is on the old one goes with its automated backups and no final "
        "snapshot",
    ),
    "aws:rds/clusterInstance:ClusterInstance": Stateful(
        "the Aurora instance",
        "the data is the cluster's, but replacing the writer is a failover and replacing both "
        "leaves the database unreachable for 10-15 minutes",
    ),
    "aws:kms/key:Key": Stateful(
        "the KMS key",
        "a replaced or deleted key is scheduled for deletion, after which nothing it encrypted "
        "(the database and its snapshots, a secret, a log group, images) can be read",
    ),
    "aws:secretsmanager/secret:Secret": Stateful(
        "the Secrets Manager secret",
        "its current value may exist nowhere else (the database password, once rotated), and "
        "without payments:protectData it is deleted with no recovery window",
    ),
    "aws:s3/bucket:Bucket": Stateful(
        "the S3 bucket",
        "it holds records the stack does not rebuild (ALB access logs, the log archive, "
        "CloudTrail files, AWS Config history), and force_destroy empties it on delete",
    ),
    "aws:ecr/repository:Repository": Stateful(
        "the ECR repository",
        "it holds the API images the running tasks pull, and force_delete removes them all",
    ),
    "aws:cloudwatch/logGroup:LogGroup": Stateful(
        "the log group",
        "its events are audit records (PCI DSS 10.5.1 keeps audit log history) and go with it",
    ),
    "aws:guardduty/detector:Detector": Stateful(
        "the GuardDuty detector",
        "deleting it deletes every finding it holds, for good",
    ),
    "aws:securityhub/account:Account": Stateful(
        "Security Hub",
        "disabling it deletes its findings and insights after 90 days",
    ),
}

# Resources of a stateful type that hold nothing the stack does not rebuild: (type, logical
# name) -> why. tests/unit/test_preview_gate.py ties each to the program.
REBUILT: Mapping[tuple[str, str], str] = {
    ("aws:s3/bucket:Bucket", "frontend-bucket"): (
        "the frontend bucket holds only the built web app, which every `pulumi up` uploads "
        "again from app/web/dist (one BucketObjectv2 per file), and nothing else writes to it"
    ),
}

# The ops that remove a resource from AWS (pulumi/pulumi pkg/resource/deploy/step.go), as the
# sentence says it. ``import-replacement`` replaces a resource with an imported one.
DESTRUCTIVE_OPS: Mapping[str, str] = {
    "delete": "delete",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "import-replacement": "replace",
}
# The ops that leave what exists in AWS in place: ``discard`` and ``discard-replaced`` drop a
# read (external) resource from the state only, ``remove-pending-replace`` an entry whose
# resource an earlier run already deleted; ``diff`` only compares.
HARMLESS_OPS = frozenset(
    {
        "same",
        "create",
        "update",
        "read",
        "read-replacement",
        "refresh",
        "discard",
        "discard-replaced",
        "remove-pending-replace",
        "import",
        "diff",
    }
)
SYMBOLS = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "replace": "+-",
    "create-replacement": "++",
    "delete-replaced": "--",
    "import": "=",
    "import-replacement": "=>",
}


# -- what the human reads ----------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _because(step: Step) -> str:
    """``clusterIdentifier aurora-cluster-a -> aurora-cluster-b, ...``: what changes, with the
    values where both states show them."""
    return ", ".join(
        f"{key} {_shown(step.changes[key][0])} -> {_shown(step.changes[key][1])}"
        if key in step.changes
        else key
        for key in step.reasons
    )


def summary_lines(stack: str, preview: Preview) -> list[str]:
    """The preview as a human reads it: counts, then one line per change."""
    counts = ", ".join(f"{n} {op}" for op, n in sorted(preview.summary.items()) if op != "same")
    unchanged = preview.summary.get("same")
    head = f"{PREFIX}: preview of stack {stack}: {counts or 'no changes'}"
    lines = [head + (f" ({unchanged} unchanged)" if unchanged is not None else "")]
    for step in preview.steps:
        if step.op == "same":
            continue
        symbol = SYMBOLS.get(step.op, "?")
        because = _because(step)
        detail = f": {because}" if because else ""
        lines.append(f"  {symbol:2} {step.op:18} {step.name} ({step.type}){detail}")
    lines += [f"  warning: {message}" for message in preview.warnings]
    return lines


# -- the gate ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flagged:
    """A stateful resource this update would destroy: its URN, steps and how to confirm it."""

    urn: str
    steps: tuple[Step, ...]
    confirm_as: str
    """What to put in CONFIRM_REPLACE: the logical name, or the URN when the name is shared."""

    @property
    def step(self) -> Step:
        return self.steps[0]

    @property
    def verb(self) -> str:
        ops = {s.op for s in self.steps}
        if ops <= {"delete"}:
            return "delete"
        if ops <= set(DESTRUCTIVE_OPS):
            return "replace"
        unknown = sorted(ops - set(DESTRUCTIVE_OPS) - HARMLESS_OPS)
        return f"run the operation {', '.join(unknown)} (unknown to this gate) on"

    def sentence(self) -> str:
        step = self.step
        stateful = STATEFUL[step.type]
        because = _because(
            next((s for s in self.steps if s.reasons), step)  # the replace step has them
        )
        cause = f"; because of {because}" if because else ""
        return (
            f"`pulumi up` would {self.verb} {stateful.what} {step.name} ({step.type}{cause}): "
            f"{stateful.why}; if that is intended, confirm it with "
            f"CONFIRM_REPLACE={self.confirm_as}"
        )


def flagged(steps: Iterable[Step]) -> list[Flagged]:
    """Each stateful resource (by URN) with a step that would replace or delete it."""
    by_urn: dict[str, list[Step]] = {}
    for step in steps:
        if step.type not in STATEFUL or (step.type, step.name) in REBUILT:
            continue
        if step.op in HARMLESS_OPS:
            continue
        by_urn.setdefault(step.urn, []).append(step)
    names: dict[str, int] = {}
    for urn_steps in by_urn.values():
        names[urn_steps[0].name] = names.get(urn_steps[0].name, 0) + 1
    return [
        Flagged(urn, tuple(s), s[0].name if names[s[0].name] == 1 else urn)
        for urn, s in by_urn.items()
    ]


def confirmations(text: str) -> list[str]:
    """CONFIRM_REPLACE's names: separated by commas or spaces, blanks ignored."""
    return [name for name in text.replace(",", " ").split() if name]


def gate(
    stack: str, preview: Preview, confirmed: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """(sentences that stop the run, notes for stdout, what was confirmed)."""
    found = flagged(preview.steps)
    wanted = set(confirmed)
    stopping = [f.sentence() for f in found if f.confirm_as not in wanted and f.urn not in wanted]
    passed = [
        f"{f.verb} {f.step.name} ({f.step.type}), confirmed"
        for f in found
        if f.confirm_as in wanted or f.urn in wanted
    ]
    used = {f.confirm_as for f in found} | {f.urn for f in found}
    notes = [
        f"CONFIRM_REPLACE names {name}, which this preview of stack {stack} neither replaces "
        "nor deletes as a stateful resource: ignored"
        for name in confirmed
        if name not in used
    ]
    return stopping, notes, passed


def run(
    stack: str,
    text: str,
    confirmed: Sequence[str],
    preview_status: int = 0,
    source: str = "the preview",
) -> tuple[int, list[str], list[str]]:
    """Exit status, stdout lines and stderr lines for one preview document."""
    try:
        preview = read_preview(text)
    except PreviewError as error:
        failed = f"`pulumi preview` failed (exit {preview_status}) and " if preview_status else ""
        return (
            1,
            [],
            [
                f"{PREFIX}: {failed}{source} is not what `pulumi preview --json` prints: {error}; "
                "nothing was checked, so `pulumi up` does not run. Run `make up` again, or "
                f"`pulumi preview --stack {stack} --diff` to see what the preview says"
            ],
        )
    out = summary_lines(stack, preview)
    if preview_status or preview.errors:
        errors = "; ".join(preview.errors) or "its errors are printed above"
        return (
            1,
            out,
            [
                f"{PREFIX}: `pulumi preview` failed (exit {preview_status}): {errors}; fix that "
                "and run `make up` again (nothing has changed)"
            ],
        )
    stopping, notes, passed = gate(stack, preview, confirmed)
    out += [f"{PREFIX}: {note}" for note in notes + passed]
    if not stopping:
        out.append(f"{PREFIX}: nothing that holds data is replaced or deleted unconfirmed")
        return 0, out, []
    names = ",".join(f.confirm_as for f in flagged(preview.steps))
    err = [f"{PREFIX}: {sentence}" for sentence in stopping]
    err.append(
        f"{PREFIX}: stopped before `pulumi up`, nothing has changed. If every replacement and "
        f'deletion above is intended: make up STACK={stack} CONFIRM_REPLACE="{names}" '
        f"({DOCS})"
    )
    return 1, out, err


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stop `make up` before it destroys data")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--confirm", default="", help="URNs or logical names, comma-separated")
    parser.add_argument("--preview-status", type=int, default=0, help="pulumi preview's exit")
    parser.add_argument("preview", nargs="?", default="-", help="the JSON file; - for stdin")
    args = parser.parse_args(argv)
    if args.preview == "-":
        text, source = sys.stdin.read(), "standard input"
    else:
        try:
            text, source = Path(args.preview).read_text(), args.preview
        except OSError as error:
            print(f"{PREFIX}: cannot read {args.preview}: {error.strerror}", file=sys.stderr)
            return 1
    status, out, err = run(
        args.stack, text, confirmations(args.confirm), args.preview_status, source
    )
    for line in out:
        print(line)
    for line in err:
        print(line, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
