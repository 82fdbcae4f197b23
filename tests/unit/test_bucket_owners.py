"""S3 bucket names are global (bucket_owners.py): each name of the plan is free or already this
stack's, or preflight names it and says what to do."""

from __future__ import annotations

from payments_infra import REPO_ROOT
from payments_infra.offline import bucket_owners, preflight
from payments_infra.offline.stack_file import read_stack_config
from tests.aws_stubs import stubbed
from tests.stacks import WEB_DIST


def test_free_bucket_names_pass() -> None:
    client, stub = stubbed("s3")
    for name in ("alb-logs-dev1", "frontend-dev1"):
        stub.add_client_error(
            "head_bucket", "404", http_status_code=404, expected_params={"Bucket": name}
        )
    with stub:
        assert (
            bucket_owners.bucket_problems(client, ["alb-logs-dev1", "frontend-dev1"], "dev") == []
        )
    stub.assert_no_pending_responses()


def test_taken_bucket_names_are_named_with_what_to_do() -> None:
    client, stub = stubbed("s3")
    stub.add_client_error("head_bucket", "403", http_status_code=403)  # alb-logs: elsewhere
    stub.add_response("head_bucket", {})  # frontend: ours, tagged for another stack
    stub.add_response(
        "get_bucket_tagging",
        {"TagSet": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": "prod"}]},
    )
    stub.add_response("head_bucket", {})  # log-archive: ours, untagged
    stub.add_client_error("get_bucket_tagging", "NoSuchTagSet", http_status_code=404)
    names = ["alb-logs-dev1", "frontend-dev1", "log-archive-dev1"]
    with stub:
        [problem] = bucket_owners.bucket_problems(client, names, "dev")
    assert problem == (
        "S3 bucket names are global and these are taken: alb-logs-dev1 (another AWS "
        "account's), frontend-dev1 (in this account, but not this stack's), log-archive-dev1 "
        "(in this account, but not this stack's); choose another payments:environmentSuffix "
        "(it ends every bucket name) and run again"
    )


def test_a_bucket_this_stack_already_made_is_fine() -> None:
    client, stub = stubbed("s3")
    stub.add_response("head_bucket", {}, expected_params={"Bucket": "frontend-dev1"})
    stub.add_response(
        "get_bucket_tagging",
        {"TagSet": [{"Key": "Project", "Value": "payments"}, {"Key": "Stack", "Value": "dev"}]},
    )
    with stub:
        assert bucket_owners.bucket_problems(client, ["frontend-dev1"], "dev") == []


def test_planned_bucket_names_come_from_the_plan_of_the_stack() -> None:
    config = read_stack_config(REPO_ROOT / "Pulumi.dev.yaml")
    config["payments:webDistDir"] = WEB_DIST
    assert preflight.planned_bucket_names(config, "dev") == ["alb-logs-dev1", "frontend-dev1"]
    config["payments:logArchive"] = "s3"
    assert "log-archive-dev1" in preflight.planned_bucket_names(config, "dev")
