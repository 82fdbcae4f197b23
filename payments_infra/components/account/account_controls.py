"""AccountControls component: the account-wide controls the compliance map leans on.

Built only with ``payments:accountControls: true``. Creates:

- CloudTrail: the trail ``trail-{suffix}``, in every Region, of management events (read and
  write, global services' included), with log file validation; its files encrypted with the
  audit key ``alias/audit-{suffix}`` (only CloudTrail may encrypt with it, only for this
  trail) into the bucket ``cloudtrail-logs-{suffix}`` (TLS only, only this trail may write,
  kept a year, Glacier Instant Retrieval after 90 days: PCI DSS 10.5.1), and its events into
  the log group ``/aws/cloudtrail/trail-{suffix}`` (30 days, the logs key) through the role
  ``cloudtrail-logs-role-{suffix}``;
- GuardDuty: the account's detector, findings published every 15 minutes;
- Security Hub (CSPM): enabled without AWS's default standards, subscribed to PCI DSS
  v4.0.1 only, one finding per control (consolidated findings);
- AWS Config: the recorder ``config-recorder-{suffix}`` (every supported resource type,
  global ones too, continuously) through the role ``config-recorder-role-{suffix}`` (AWS's
  ``AWS_ConfigRole`` plus writing to its bucket), the delivery channel to the bucket
  ``config-history-{suffix}`` (TLS only, kept a year), and the recorder switched on;
- findings to on-call (findings.py): GuardDuty's from ``payments:findingsMinSeverity`` up, and
  Security Hub's new failed controls, critical or high, to the alerts topic; and every
  session of the break-glass role (break_glass_alert.py).

Each is one per account and Region: an organisation often runs them already, so the
setting is off by default and preflight (offline/preflight.py) refuses to deploy them next
to existing ones. Everything goes with ``pulumi destroy``; what AWS itself leaves behind is
listed in docs/security.md, "Deliberate exceptions".
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from payments_infra.aws.access import Custodians
from payments_infra.aws.buckets import lifecycle_rule, private_bucket
from payments_infra.aws.keys import audit_key_policy, customer_managed_key
from payments_infra.aws.logs import log_group
from payments_infra.aws.options import after
from payments_infra.aws.policies import deny_insecure_transport, policy_document
from payments_infra.aws.service_roles import attach_managed_policy, service_role
from payments_infra.aws.tagging import name_tag
from payments_infra.components.account.break_glass_alert import alert_break_glass_use
from payments_infra.components.account.findings import route_findings
from payments_infra.components.observability.log_archive import ARCHIVE_DAYS, ARCHIVE_HOT_DAYS
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name

# Security Hub's PCI DSS v4.0.1 standard in the stack's Region (the provider's documentation
# of aws.securityhub.StandardsSubscription lists the standards' ARNs).
PCI_DSS_STANDARD_ARN = f"arn:aws:securityhub:{REQUIRED_REGION}::standards/pci-dss/v/4.0.1"
CONFIG_ROLE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWS_ConfigRole"
GUARDDUTY_FINDINGS_EVERY = "FIFTEEN_MINUTES"


def trail_arn(account_id: str, trail_name: str) -> str:
    return f"arn:aws:cloudtrail:{REQUIRED_REGION}:{account_id}:trail/{trail_name}"


@dataclass(frozen=True, kw_only=True)
class AccountControlsArgs:
    """Inputs of the AccountControls component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, for the key, bucket and role policies. Required."""
    custodians: Custodians
    """Who administers the audit key (aws/access.py): not the whole account. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key the trail's log group is encrypted with (keys.LogsKey). Required."""
    alerts_topic_arn: pulumi.Input[str]
    """The alerts topic (observability.py), where the serious findings go. Required."""
    findings_min_severity: float
    """GuardDuty findings of this severity or above go to the alerts topic. Required."""


class AccountControls(pulumi.ComponentResource):
    """CloudTrail, GuardDuty, Security Hub with PCI DSS, and AWS Config for the account."""

    def __init__(
        self, name: str, args: AccountControlsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:account:AccountControls", name, None, opts)
        self._name = name
        self._suffix = args.environment_suffix
        self._child = pulumi.ResourceOptions(parent=self)
        self._account_id = pulumi.Output.from_input(args.account_id)

        self._create_trail(args)
        self.detector = aws.guardduty.Detector(
            f"{name}-guardduty",
            aws.guardduty.DetectorArgs(
                enable=True,
                finding_publishing_frequency=GUARDDUTY_FINDINGS_EVERY,
                tags=name_tag(physical_name(Names.guardduty_detector, self._suffix)),
            ),
            opts=self._child,
        )
        self._create_config()
        self._create_security_hub()
        self.findings_rules = route_findings(
            name,
            suffix=self._suffix,
            alerts_topic_arn=args.alerts_topic_arn,
            min_severity=args.findings_min_severity,
            opts=self._child,
        )
        self.break_glass_rule = alert_break_glass_use(
            name,
            suffix=self._suffix,
            role_arn=args.custodians.break_glass_role_arn,
            alerts_topic_arn=args.alerts_topic_arn,
            opts=self._child,
        )

        self.log_groups = [self.trail_log_group]
        self.trail_arn = self.trail.arn
        self.detector_id = self.detector.id
        self.register_outputs({"trail_arn": self.trail_arn, "detector_id": self.detector_id})

    def _create_trail(self, args: AccountControlsArgs) -> None:
        trail_name = physical_name(Names.cloudtrail_trail, self._suffix)
        arn = self._account_id.apply(lambda account: trail_arn(account, trail_name))
        self.key = customer_managed_key(
            f"{self._name}-audit-key",
            description=f"CloudTrail log files of {trail_name}",
            policy=pulumi.Output.all(
                account_id=self._account_id, custodians=args.custodians.arns(), trail_arn=arn
            ).apply(lambda v: audit_key_policy(**v)),
            name=Names.audit_kms_key,
            alias=Names.audit_kms_alias,
            suffix=self._suffix,
            opts=self._child,
        )
        self.trail_bucket = private_bucket(
            f"{self._name}-trail-bucket", Names.cloudtrail_bucket, self._suffix, opts=self._child
        )
        lifecycle_rule(
            f"{self._name}-trail-bucket-lifecycle",
            self.trail_bucket.bucket,
            "keep-a-year",
            glacier_ir_after_days=ARCHIVE_HOT_DAYS,
            expire_after_days=ARCHIVE_DAYS,
            opts=self._child,
        )
        bucket_policy = aws.s3.BucketPolicy(
            f"{self._name}-trail-bucket-policy",
            aws.s3.BucketPolicyArgs(
                bucket=self.trail_bucket.bucket,
                policy=pulumi.Output.all(
                    bucket_arn=self.trail_bucket.arn, account_id=self._account_id, trail=arn
                ).apply(lambda v: trail_bucket_policy(**v)),
            ),
            opts=self._child,
        )
        self.trail_log_group = log_group(
            f"{self._name}-trail-logs",
            Names.cloudtrail_log_group,
            self._suffix,
            kms_key_arn=args.log_kms_key_arn,
            opts=self._child,
        )
        role = service_role(
            f"{self._name}-trail-logs",
            Names.cloudtrail_role,
            Names.cloudtrail_policy,
            service="cloudtrail.amazonaws.com",
            description="CloudTrail: deliver the trail's events to its log group",
            account_id=args.account_id,
            policy=pulumi.Output.all(
                log_group_arn=self.trail_log_group.arn, account_id=self._account_id
            ).apply(lambda v: trail_logs_policy(**v)),
            suffix=self._suffix,
            opts=self._child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{self._name}-trail",
            aws.cloudtrail.TrailArgs(
                name=trail_name,
                s3_bucket_name=self.trail_bucket.bucket,
                kms_key_id=self.key.arn,
                enable_log_file_validation=True,
                enable_logging=True,
                # Every Region: an intruder's calls elsewhere are recorded too, and IAM,
                # STS and CloudFront's global events once, here.
                is_multi_region_trail=True,
                include_global_service_events=True,
                event_selectors=[
                    aws.cloudtrail.TrailEventSelectorArgs(
                        read_write_type="All", include_management_events=True
                    )
                ],
                # The log group's ARN as CloudTrail wants it: with its streams.
                cloud_watch_logs_group_arn=self.trail_log_group.arn.apply(lambda a: f"{a}:*"),
                cloud_watch_logs_role_arn=role.role.arn,
                tags=name_tag(trail_name),
            ),
            # CloudTrail checks at creation that it may write to the bucket and log group.
            opts=after(self._child, bucket_policy, role.policy),
        )

    def _create_config(self) -> None:
        self.config_bucket = private_bucket(
            f"{self._name}-config-bucket", Names.config_bucket, self._suffix, opts=self._child
        )
        lifecycle_rule(
            f"{self._name}-config-bucket-lifecycle",
            self.config_bucket.bucket,
            "keep-a-year",
            expire_after_days=ARCHIVE_DAYS,
            opts=self._child,
        )
        aws.s3.BucketPolicy(
            f"{self._name}-config-bucket-policy",
            aws.s3.BucketPolicyArgs(
                bucket=self.config_bucket.bucket,
                policy=self.config_bucket.arn.apply(
                    lambda arn: policy_document(deny_insecure_transport(arn))
                ),
            ),
            opts=self._child,
        )
        # A role of our own rather than Config's service-linked role: that one may already
        # exist in the account, and would outlive the stack.
        role = service_role(
            f"{self._name}-config",
            Names.config_role,
            Names.config_policy,
            service="config.amazonaws.com",
            description="AWS Config: record the account's resources, deliver to its bucket",
            account_id=self._account_id,
            policy=pulumi.Output.all(
                bucket_arn=self.config_bucket.arn, account_id=self._account_id
            ).apply(lambda v: config_delivery_policy(**v)),
            suffix=self._suffix,
            opts=self._child,
        )
        managed = attach_managed_policy(
            f"{self._name}-config", role.role, CONFIG_ROLE_POLICY_ARN, self._child
        )
        self.recorder = aws.cfg.Recorder(
            f"{self._name}-config-recorder",
            aws.cfg.RecorderArgs(
                name=physical_name(Names.config_recorder, self._suffix),
                role_arn=role.role.arn,
                recording_group=aws.cfg.RecorderRecordingGroupArgs(
                    all_supported=True, include_global_resource_types=True
                ),
            ),
            opts=after(self._child, managed, role.policy),
        )
        channel = aws.cfg.DeliveryChannel(
            f"{self._name}-config-delivery",
            aws.cfg.DeliveryChannelArgs(
                name=physical_name(Names.config_delivery_channel, self._suffix),
                s3_bucket_name=self.config_bucket.bucket,
                snapshot_delivery_properties=aws.cfg.DeliveryChannelSnapshotDeliveryPropertiesArgs(
                    delivery_frequency="TwentyFour_Hours"
                ),
            ),
            # AWS Config takes a delivery channel only once a recorder exists.
            opts=after(self._child, self.recorder),
        )
        self.recorder_status = aws.cfg.RecorderStatus(
            f"{self._name}-config-recording",
            aws.cfg.RecorderStatusArgs(name=self.recorder.name, is_enabled=True),
            # Recording starts only with somewhere to deliver to.
            opts=after(self._child, channel),
        )

    def _create_security_hub(self) -> None:
        self.security_hub = aws.securityhub.Account(
            f"{self._name}-security-hub",
            aws.securityhub.AccountArgs(
                # Only the standard the platform answers to, declared below, not AWS's
                # defaults: each control check is billed.
                enable_default_standards=False,
                control_finding_generator="SECURITY_CONTROL",
                auto_enable_controls=True,
            ),
            opts=self._child,
        )
        aws.securityhub.StandardsSubscription(
            f"{self._name}-pci-dss",
            aws.securityhub.StandardsSubscriptionArgs(standards_arn=PCI_DSS_STANDARD_ARN),
            # Its controls are AWS Config rules: recording must be on for them to report.
            opts=after(self._child, self.security_hub, self.recorder_status),
        )


def trail_bucket_policy(bucket_arn: str, account_id: str, trail: str) -> str:
    """TLS only; CloudTrail may read the ACL and write this account's files, for this trail
    only (AWS's bucket policy for a trail, with ``aws:SourceArn``)."""
    return policy_document(
        deny_insecure_transport(bucket_arn),
        {
            "Sid": "CloudTrailChecksTheBucket",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["s3:GetBucketAcl"],
            "Resource": [bucket_arn],
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        {
            "Sid": "CloudTrailWritesThisAccountsFiles",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["s3:PutObject"],
            "Resource": [f"{bucket_arn}/AWSLogs/{account_id}/*"],
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": trail,
                }
            },
        },
    )


def trail_logs_policy(log_group_arn: str, account_id: str) -> str:
    """Create the trail's streams (``{account}_CloudTrail_{region}``) and write to them."""
    return policy_document(
        {
            "Sid": "DeliverTheTrailsEvents",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:log-stream:{account_id}_CloudTrail_*"],
        }
    )


def config_delivery_policy(bucket_arn: str, account_id: str) -> str:
    """Check the bucket and write this account's history and snapshots to it (AWS Config's
    policy for a role of one's own)."""
    return policy_document(
        {
            "Sid": "CheckTheBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketAcl"],
            "Resource": [bucket_arn],
        },
        {
            "Sid": "DeliverHistoryAndSnapshots",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:PutObjectAcl"],
            "Resource": [f"{bucket_arn}/AWSLogs/{account_id}/*"],
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    )
