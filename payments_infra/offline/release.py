"""Release checks of ``make up``: what is deployed can be traced to a commit, and a rollback
names an image the stack's repository still holds.

- **A committed tree.** ``pulumi up`` deploys the work tree as it is: the program, the stack
  file's settings and the API's sources. Every stack is held to it: the program builds each one
  alike (the same PCI DSS controls, real card payments possible), and neither a stack's name
  nor its ``payments:environment`` label is evidence of what it serves. So
  ``git status --porcelain`` must be empty (untracked files count, git-ignored ones do not).
  The one way past it is ``PAYMENTS_ALLOW_DIRTY_DEPLOY=1``, said out loud for one command, for
  a development stack; a stack with ``payments:protectData`` (production: production.py) takes
  no such exception. The image of a dirty tree reports its commit with ``-dirty``
  (``/healthz``), so such a deploy stays visible.
- **An image to roll back to.** ``payments:apiImageTag`` must name an image of the stack's own
  repository ``api-<suffix>`` (the lifecycle rule expires old ones), found in seconds with ECR
  DescribeImages, rather than after the 20-minute wait of a service whose tasks cannot pull it.

``builds_image`` says whether ``pulumi up`` builds the API image at all, which decides whether
preflight asks for Docker and the base image.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from payments_infra import REPO_ROOT
from payments_infra.components.api.image import IMAGE_DIGEST
from payments_infra.config.naming import Names, physical_name
from payments_infra.offline.commands import Runner
from payments_infra.offline.commands import run as _run
from payments_infra.offline.protection import protects_data

ALLOW_DIRTY = "PAYMENTS_ALLOW_DIRTY_DEPLOY"
SHOWN_CHANGES = 5


def _config(document: Mapping[str, Any]) -> Mapping[str, Any]:
    return document.get("config") or {}


def builds_image(document: Mapping[str, Any]) -> bool:
    """``pulumi up`` builds app/api: neither an image from outside the stack
    (``payments:apiImage``) nor an earlier one of its own (``payments:apiImageTag``) is set."""
    config = _config(document)
    return not (config.get("payments:apiImage") or config.get("payments:apiImageTag"))


def dirty_tree_problems(
    document: Mapping[str, Any],
    environ: Mapping[str, str],
    root: Path = REPO_ROOT,
    run: Runner = _run,
) -> list[str]:
    """A deploy comes from a commit: the work tree has no uncommitted change."""
    allowed = environ.get(ALLOW_DIRTY) == "1"
    if allowed and not protects_data(_config(document)):
        print(
            f"preflight: {ALLOW_DIRTY}=1: deploying the work tree as it is, committed or not "
            "(the image reports its commit with -dirty when app/api has changes)"
        )
        return []
    try:
        result: subprocess.CompletedProcess[str] | None = run(
            ["git", "-C", str(root), "status", "--porcelain"]
        )
    except (OSError, subprocess.TimeoutExpired):
        result = None
    if result is None or result.returncode != 0:
        return [
            f"cannot tell whether {root} is committed (git status failed: not a git work tree, "
            "or no git): deploy from a git clone, so that what runs can be traced to a commit"
            + ("" if allowed else f", or set {ALLOW_DIRTY}=1 for a development stack")
        ]
    changed = [line[3:] for line in result.stdout.splitlines() if line.strip()]
    if not changed:
        return []
    shown = ", ".join(changed[:SHOWN_CHANGES])
    if len(changed) > SHOWN_CHANGES:
        shown += f" and {len(changed) - SHOWN_CHANGES} more"
    way_out = (
        f"; {ALLOW_DIRTY} does not apply to a stack with payments:protectData"
        if allowed
        else f", or set {ALLOW_DIRTY}=1 to deploy a development stack as it is"
    )
    return [
        f"the work tree has uncommitted changes ({shown}): a deploy must come from a commit, "
        "so that what runs can be traced to it (/healthz reports the API's). Commit them (a "
        f"setting changed in Pulumi.<stack>.yaml too){way_out}"
    ]


def image_tag_problems(document: Mapping[str, Any], client_for: Callable[[str], Any]) -> list[str]:
    """``payments:apiImageTag`` names an image the stack's repository holds (ECR
    DescribeImages; no look-up without the setting)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    config = _config(document)
    wanted = str(config.get("payments:apiImageTag") or "")
    if not wanted or config.get("payments:apiImage"):
        return []  # nothing to look up; with both set, the config rule says so
    repository = physical_name(Names.ecr_repository, str(config.get("payments:environmentSuffix")))
    image_id = {"imageDigest" if IMAGE_DIGEST.fullmatch(wanted) else "imageTag": wanted}
    try:
        client_for("ecr").describe_images(repositoryName=repository, imageIds=[image_id])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "unknown")
        if code == "ImageNotFoundException":
            return [
                f"payments:apiImageTag is {wanted}, but the stack's ECR repository {repository} "
                "holds no such image (never pushed there, or expired by its lifecycle rule): "
                f"list what it holds with `aws ecr describe-images --repository-name "
                f"{repository}` and choose one of those"
            ]
        if code == "RepositoryNotFoundException":
            return [
                f"payments:apiImageTag is {wanted}, but the stack has no ECR repository "
                f"{repository} yet: the setting runs an image an earlier `make up` of this "
                "stack pushed; remove it for the first deploy"
            ]
        return [
            f"AWS refused to list the images of {repository} (DescribeImages: {code}), so "
            f"payments:apiImageTag {wanted} was not checked: allow the deploying identity "
            "ecr:DescribeImages on it, then run again"
        ]
    return []
