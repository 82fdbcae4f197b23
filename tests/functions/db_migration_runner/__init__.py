"""functions/db_migration_runner: the migrations task run, waited for and judged, against
botocore's Stubber (tests/aws_stubs.py): every ECS and CloudWatch Logs request is checked,
every answer is one ECS or CloudWatch Logs could give, and nothing reaches AWS or sleeps.

runner_rig.py holds the event, the answers and the Rig; conftest.py the ``rig`` fixture."""
