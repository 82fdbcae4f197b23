"""Observability component: the alerts topic, every tier's alarms, and one dashboard.

Creates:
- the SNS topic ``alerts-{suffix}`` (the logs key) with e-mail subscriptions from
  ``alertEmails``, and its policy: TLS only; this account's CloudWatch alarms may publish, and
  the EventBridge rules it is given (account/findings.py, by ARN), and nothing else;
- one CloudWatch alarm per ``AlarmSpec`` or ``MathAlarmSpec`` the tiers expose (each with its
  reason and, where given, what to look at first), all sending to the topic, on alarm and
  back to OK;
- the CloudWatch dashboard ``payments-{suffix}``, the tiers' widgets in the order given.

It knows no tier: ``platform.py`` hands it the tiers' ``alarms`` and ``dashboard_widgets``
(monitoring.py). The ALB's access logs (alb_access_logs.py) and the log archive
(log_archive.py) are components of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from payments_infra.aws.monitoring import (
    Alarm,
    AlarmSpec,
    DashboardWidget,
    MathAlarmSpec,
    dashboard_body,
)
from payments_infra.aws.policies import policy_document
from payments_infra.aws.tagging import name_tag
from payments_infra.config import REQUIRED_REGION
from payments_infra.config.naming import Names, physical_name


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs:
    """Inputs of the Observability component."""

    environment_suffix: str
    """Ends every physical name. Required."""
    account_id: pulumi.Input[str]
    """The AWS account, whose alarms may publish to the alerts topic. Required."""
    log_kms_key_arn: pulumi.Input[str]
    """The key the alerts topic is encrypted with (keys.LogsKey). Required."""
    alert_emails: Sequence[str]
    """Addresses subscribed to the alerts topic; each confirms by mail. Required (may be empty)."""
    alarms: Sequence[Alarm]
    """Every tier's alarms. Required."""
    dashboard_widgets: Sequence[DashboardWidget]
    """Every tier's widgets, in the order the dashboard shows them. Required."""
    publishing_rule_arns: pulumi.Input[Sequence[str]] = ()
    """EventBridge rules that may publish to the alerts topic (account/findings.py), by ARN."""


class Observability(pulumi.ComponentResource):
    """The alerts topic, the alarms that send to it, and the dashboard."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("payments:observability:Observability", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        suffix = args.environment_suffix

        self._create_topic(physical_name(Names.alerts_topic, suffix), args)
        self.alarms = [self._create_alarm(spec) for spec in args.alarms]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            aws.cloudwatch.DashboardArgs(
                dashboard_name=physical_name(Names.dashboard, suffix),
                dashboard_body=dashboard_body(args.dashboard_widgets),
            ),
            opts=self._child,
        )

        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_count": len(self.alarms)})

    def _create_topic(self, topic_name: str, args: ObservabilityArgs) -> None:
        self.topic = aws.sns.Topic(
            f"{self._name}-alerts",
            aws.sns.TopicArgs(
                name=topic_name, kms_master_key_id=args.log_kms_key_arn, tags=name_tag(topic_name)
            ),
            opts=self._child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            f"{self._name}-alerts-policy",
            aws.sns.TopicPolicyArgs(
                arn=self.topic.arn,
                policy=pulumi.Output.all(
                    topic_arn=self.topic.arn,
                    account_id=args.account_id,
                    rule_arns=args.publishing_rule_arns,
                ).apply(lambda v: alerts_topic_policy(**v)),
            ),
            opts=self._child,
        )
        for index, email in enumerate(args.alert_emails):
            # Each address gets a confirmation mail; nothing arrives until it is confirmed.
            aws.sns.TopicSubscription(
                f"{self._name}-alerts-email-{index}",
                aws.sns.TopicSubscriptionArgs(
                    topic=self.topic.arn, protocol="email", endpoint=email
                ),
                opts=self._child,
            )

    def _create_alarm(self, spec: Alarm) -> aws.cloudwatch.MetricAlarm:
        if isinstance(spec, MathAlarmSpec):
            watched = _math_alarm_args(spec)
        else:
            watched = _metric_alarm_args(spec)
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.name}",
            aws.cloudwatch.MetricAlarmArgs(
                name=spec.name,
                alarm_description=spec.description,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.datapoints_to_alarm,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                tags=name_tag(spec.name),
                **watched,
            ),
            opts=self._child,
        )


def alerts_topic_policy(topic_arn: str, account_id: str, rule_arns: Sequence[str]) -> str:
    """TLS only; this account's CloudWatch alarms may publish (the CloudWatch user guide's
    statement for a topic with a policy, ``aws:SourceArn`` and ``aws:SourceAccount``), and the
    EventBridge rules ``rule_arns`` (the EventBridge user guide's, by ``aws:SourceArn``).
    Nothing else: the account's own principals have what their IAM policies give them."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:*",
            "Resource": [topic_arn],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "AlarmsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["sns:Publish"],
            "Resource": [topic_arn],
            "Condition": {
                "ArnLike": {
                    "aws:SourceArn": f"arn:aws:cloudwatch:{REQUIRED_REGION}:{account_id}:alarm:*"
                },
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
    ]
    if rule_arns:
        statements.append(
            {
                "Sid": "TheseEventRulesPublish",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["sns:Publish"],
                "Resource": [topic_arn],
                "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
            }
        )
    return policy_document(*statements)


def _metric_alarm_args(spec: AlarmSpec) -> dict[str, Any]:
    return {
        "namespace": spec.namespace,
        "metric_name": spec.metric,
        "dimensions": spec.dimensions or None,
        "statistic": None if spec.extended_statistic else spec.statistic,
        "extended_statistic": spec.extended_statistic,
        "period": spec.period,
    }


def _math_alarm_args(spec: MathAlarmSpec) -> dict[str, Any]:
    """The metrics (each at the alarm's period) and the expressions; only the last one is
    returned, so the alarm watches it."""
    metrics = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query.id,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=query.namespace,
                metric_name=query.metric,
                dimensions=query.dimensions or None,
                stat=query.stat,
                period=spec.period,
            ),
            return_data=False,
        )
        for query in spec.metrics
    ]
    last = len(spec.expressions) - 1
    expressions = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=step.id, expression=step.expression, label=step.label, return_data=index == last
        )
        for index, step in enumerate(spec.expressions)
    ]
    return {"metric_queries": [*metrics, *expressions]}
