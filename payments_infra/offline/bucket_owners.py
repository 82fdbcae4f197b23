"""Preflight of `make up`: whose each S3 bucket name of the plan is.

Bucket names are global: someone else's ``frontend-dev1`` would otherwise fail the deploy
twenty minutes in, half built. A name is free, already this stack's (a second ``make up``),
or taken, by another account or by something else in this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from payments_infra import PROJECT

if TYPE_CHECKING:
    from payments_infra.offline.graph import Graph

FREE, THIS_STACKS = "free", "this stack's"


def bucket_names(graph: Graph) -> list[str]:
    return sorted(str(b.inputs["bucket"]) for b in graph.of_type("aws:s3/bucket:Bucket"))


def bucket_owners(s3: Any, names: list[str], stack: str) -> dict[str, str]:
    """Whose each bucket name is. HeadBucket: 404 free, 403 someone else's, 200 this
    account's (then the tags say whether it is this stack's)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    owners = {}
    for name in names:
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            owners[name] = (
                FREE if status == 404 else "another AWS account's" if status == 403 else str(status)
            )
            continue
        stacks = _is_this_stacks(s3, name, stack)
        owners[name] = THIS_STACKS if stacks else "in this account, but not this stack's"
    return owners


def taken_bucket_problems(owners: Mapping[str, str]) -> list[str]:
    taken = [
        f"{name} ({owner})" for name, owner in owners.items() if owner not in (FREE, THIS_STACKS)
    ]
    if not taken:
        return []
    return [
        f"S3 bucket names are global and these are taken: {', '.join(taken)}; choose another "
        "payments:environmentSuffix (it ends every bucket name) and run again"
    ]


def bucket_problems(s3: Any, names: list[str], stack: str) -> list[str]:
    return taken_bucket_problems(bucket_owners(s3, names, stack))


def _is_this_stacks(s3: Any, name: str, stack: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError:
        return False
    return tags.get("Project") == PROJECT and tags.get("Stack") == stack
