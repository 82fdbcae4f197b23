"""The load balancer's alarms: errors from the ALB and from the API, slow answers, failing
tasks, each with the action on-call takes (docs/deploy.md, On-call); its WAF's alarm, and
its dashboard widgets."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from payments_infra.aws.monitoring import AlarmSpec, DashboardWidget
from payments_infra.components.api.autoscaling import MAX_TASKS
from payments_infra.components.edge.web_acl import waf_monitoring
from payments_infra.config.naming import Names, physical_name


def load_balancer_monitoring(
    alb: pulumi.Input[str],
    target_group: pulumi.Input[str],
    web_acl_name: pulumi.Input[str],
    suffix: str,
) -> tuple[list[AlarmSpec], list[DashboardWidget]]:
    """The ALB's and its web ACL's alarms and widgets, from the ALB's and the target group's
    ARN suffixes (their metrics' dimensions) and the web ACL's name."""
    waf_alarm, waf_widget = waf_monitoring(
        web_acl_name,
        "REGIONAL",
        alarm_name=Names.alarm_alb_waf_blocked,
        log_group_name=Names.alb_waf_log_group,
        where="at the ALB",
        title="ALB WAF allowed and blocked",
        suffix=suffix,
    )
    alarms = [
        *load_balancer_alarms(
            {"LoadBalancer": alb}, {"LoadBalancer": alb, "TargetGroup": target_group}, suffix
        ),
        waf_alarm,
    ]
    by_target: list[pulumi.Input[str]] = ["LoadBalancer", alb, "TargetGroup", target_group]
    widgets = [
        DashboardWidget(
            title="ALB requests and 5xx",
            metrics=[
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *by_target],
            ],
        ),
        DashboardWidget(
            title="API latency p99 (s)",
            metrics=[["AWS/ApplicationELB", "TargetResponseTime", *by_target]],
            stat="p99",
        ),
        waf_widget,
    ]
    return alarms, widgets


def load_balancer_alarms(
    alb: Mapping[str, pulumi.Input[str]], target: Mapping[str, pulumi.Input[str]], suffix: str
) -> list[AlarmSpec]:
    """Errors from the ALB and from the API, slow answers, failing tasks."""
    health = (
        "aws elbv2 describe-target-health --target-group-arn <the ARN of "
        f"{physical_name(Names.target_group, suffix)}>"
    )
    logs = physical_name(Names.api_log_group, suffix)
    return [
        AlarmSpec(
            name=physical_name(Names.alarm_alb_5xx, suffix),
            namespace="AWS/ApplicationELB",
            metric="HTTPCode_ELB_5XX_Count",
            dimensions=alb,
            comparison="GreaterThanThreshold",
            threshold=10,
            why="The ALB itself answers 5xx (no healthy target, overload): payments fail.",
            action=f"{health}: no healthy target, follow alarm-unhealthy-hosts' action; all "
            f"healthy at {MAX_TASKS} tasks: overload (docs/deploy.md, On-call: capacity limits).",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_target_5xx, suffix),
            namespace="AWS/ApplicationELB",
            metric="HTTPCode_Target_5XX_Count",
            dimensions=target,
            comparison="GreaterThanThreshold",
            threshold=10,
            why="The API answers 5xx: a bug or the database is failing requests.",
            action=f"Logs Insights on {logs}: filter status >= 500 | stats count(*) by status, "
            "path. 503s: the database (the Aurora alarms' actions); 500s: a bug, roll back "
            "(docs/deploy.md, Rolling back).",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_target_p99, suffix),
            namespace="AWS/ApplicationELB",
            metric="TargetResponseTime",
            dimensions=target,
            comparison="GreaterThanThreshold",
            threshold=1.0,
            why="p99 latency over 1 s for 5 minutes: checkout feels broken long before errors.",
            action="The API's PoolWait and DatabaseLatency (dashboard, business row) say where: "
            "the database, raise payments:dbMaxCapacity and make up; the tasks, see "
            "alarm-ecs-cpu's action (docs/deploy.md, On-call: capacity limits).",
            extended_statistic="p99",
        ),
        AlarmSpec(
            name=physical_name(Names.alarm_unhealthy_hosts, suffix),
            namespace="AWS/ApplicationELB",
            metric="UnHealthyHostCount",
            dimensions=target,
            comparison="GreaterThanThreshold",
            threshold=0,
            why="A task fails its health checks: capacity is lower than it looks.",
            action=f"{health}, then the stopped tasks' stoppedReason (aws ecs list-tasks "
            f"--desired-status STOPPED, describe-tasks) and their last lines in {logs}; "
            "failing again after each replacement means a bad "
            "image or setting: roll back (docs/deploy.md, Rolling back) or undo the setting.",
            statistic="Maximum",
            evaluation_periods=3,
        ),
    ]
