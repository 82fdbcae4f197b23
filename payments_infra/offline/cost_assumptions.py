"""What the cost estimate assumes rather than reads from the graph: the baseline usage, the
account controls' estimated usage, and the sizes of the non-production what-if.

Usage that the graph cannot know (traffic, log volume, LCUs, Aurora storage and I/O) is priced
at these figures; the what-if prices the same graph smaller (``cost.estimate``). The lines they
price say so: "(baseline)" for the stack's own traffic, "(estimate)" for what the account
controls bill by the whole account's activity.
"""

from __future__ import annotations

# Baseline usage: ASSUMPTIONS, NOT MEASUREMENTS. Light production traffic, to show the floor
# of the bill; replace them with CloudWatch figures once the stack has real traffic.
NAT_GB_PROCESSED_PER_MONTH = 100.0  # all NAT gateways together: image pulls, AWS APIs
# Of that, what AWS's APIs carry (CloudWatch Logs above all, ECR manifests, the secrets): it
# goes through the interface endpoints instead when the stack has them.
AWS_API_GB_PER_MONTH = 10.0
ALB_LCUS_PER_HOUR = 1.0  # per load balancer
AURORA_STORAGE_GB = 20.0  # per cluster
AURORA_IO_MILLION_REQUESTS_PER_MONTH = 10.0  # per cluster
CLOUDFRONT_REQUESTS_PER_MONTH = 1_000_000  # per distribution, all HTTPS
CLOUDFRONT_GB_OUT_PER_MONTH = 10.0  # per distribution, all to North America
WAF_REQUESTS_PER_MONTH = 1_000_000  # per web ACL
LOG_GB_INGESTED_PER_MONTH = 5.0  # every log group but the flow logs' and the trail's, together
# VPC flow logs (ALL traffic, 60-s aggregation) of the VPC: about 150 bytes per record (the
# default format plus CloudWatch's 26 bytes an event), one record a minute for each flow of
# each network interface; the ALB's health checks, the tasks' pooled database connections and
# the calls to the endpoints make a few hundred flows a minute at light traffic: about 1.3 GB
# a month, rounded up. Per flow log.
FLOW_LOG_GB_PER_MONTH = 2.0
# The VPC's DNS Firewall processes every query that reaches the resolver: the three tasks'
# look-ups of the AWS names they call (logs, secrets, the database, ECR at each start), each
# again when its TTL (60 s for most AWS names) runs out, about 10 a minute a task, plus the
# functions': about 1.3 million a month, rounded up. Per VPC.
DNS_MILLION_QUERIES_PER_MONTH = 2.0
# Query logging writes one JSON record (about 500 bytes) per query the resolver did not answer
# from its cache (Route 53 Developer Guide, "Resolver query logging"): at most the queries
# above, about 1 GB. Per VPC.
DNS_QUERY_LOG_GB_PER_MONTH = 1.0
# SNS, SQS and Lambda only carry alerts, failures and log files: negligible at baseline.
SNS_MILLION_PUBLISHES_PER_MONTH = 0.0
SQS_MILLION_REQUESTS_PER_MONTH = 0.0
LAMBDA_MILLION_REQUESTS_PER_MONTH = 0.0
LAMBDA_GB_SECONDS_PER_MONTH = 0.0

# The account controls (payments:accountControls): ESTIMATES, made 2026-12 for an account
# that runs this stack alone, at the baseline traffic above. They bill by what the whole
# account does, so an account with more in it pays more; during GuardDuty's and Security
# Hub's 30-day free trials their consoles show the account's own figures (docs/cost.md).
ESTIMATES_AS_OF = "2026-12"
# The trail's events copied into CloudWatch Logs: every management event of the account, read
# and write, every Region, about 1 KB each. The services' own calls (KMS for every encrypted
# log batch and secret read, ECS, Config's and Security Hub's describe calls) dominate:
# about 2 million events a month (below), about 2 GB.
CLOUDTRAIL_LOG_GB_PER_MONTH = 2.0
# GuardDuty's foundational analysis (Amazon GuardDuty pricing): the same 2 million management
# events, and the VPC's flow logs and DNS queries (the flow logs above, and the tasks' and
# functions' look-ups of AWS's names, about 3 GB).
GUARDDUTY_MILLION_EVENTS_PER_MONTH = 2.0
GUARDDUTY_FLOW_DNS_GB_PER_MONTH = FLOW_LOG_GB_PER_MONTH + 3.0
# Security Hub CSPM's checks of the PCI DSS v4.0.1 standard: its controls over the account's
# few hundred resources, periodic ones daily and the others on each change: about 500 a day.
SECURITY_HUB_CHECKS_PER_MONTH = 15_000
# AWS Config's continuous recording of every resource type: the first month records each of
# the account's few hundred resources once; Fargate tasks, their network interfaces and the
# scaling change often afterwards: about 3,000 items a month.
CONFIG_ITEMS_PER_MONTH = 3_000

# The non-production what-if (see ``cost.estimate``).
NON_PRODUCTION_NAT_GATEWAYS = 1
NON_PRODUCTION_TASKS = 1
NON_PRODUCTION_AURORA_INSTANCES = 1  # the writer only
NON_PRODUCTION_AURORA_MIN_ACU = 0.5
