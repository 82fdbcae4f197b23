"""What the cost estimate assumes rather than reads from the graph: the baseline usage, and the
sizes of the non-production what-if.

Usage that the graph cannot know (traffic, log volume, LCUs, Aurora storage and I/O) is priced
at these figures; the what-if prices the same graph smaller (``cost.estimate``).
"""

from __future__ import annotations

# Baseline usage: ASSUMPTIONS, NOT MEASUREMENTS. Light production traffic, to show the floor
# of the bill; replace them with CloudWatch figures once the stack has real traffic.
NAT_GB_PROCESSED_PER_MONTH = 100.0  # all NAT gateways together: image pulls, AWS APIs
# Of that, what AWS's APIs carry (CloudWatch Logs above all, ECR manifests, secrets, KMS,
# STS): it goes through the interface endpoints instead when the stack has them.
AWS_API_GB_PER_MONTH = 10.0
ALB_LCUS_PER_HOUR = 1.0  # per load balancer
AURORA_STORAGE_GB = 20.0  # per cluster
AURORA_IO_MILLION_REQUESTS_PER_MONTH = 10.0  # per cluster
CLOUDFRONT_REQUESTS_PER_MONTH = 1_000_000  # per distribution, all HTTPS
CLOUDFRONT_GB_OUT_PER_MONTH = 10.0  # per distribution, all to North America
WAF_REQUESTS_PER_MONTH = 1_000_000  # per web ACL
LOG_GB_INGESTED_PER_MONTH = 5.0  # all log groups together
# SNS, SQS and Lambda only carry alerts, failures and log files: negligible at baseline.
SNS_MILLION_PUBLISHES_PER_MONTH = 0.0
SQS_MILLION_REQUESTS_PER_MONTH = 0.0
LAMBDA_MILLION_REQUESTS_PER_MONTH = 0.0
LAMBDA_GB_SECONDS_PER_MONTH = 0.0

# The non-production what-if (see ``cost.estimate``).
NON_PRODUCTION_NAT_GATEWAYS = 1
NON_PRODUCTION_TASKS = 1
NON_PRODUCTION_AURORA_INSTANCES = 1  # the writer only
NON_PRODUCTION_AURORA_MIN_ACU = 0.5
