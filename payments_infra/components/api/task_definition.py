"""The API task's contract: its container, and what ECS and the API may do for it.

Plain functions and constants, no resources: the container definition (non-root, read-only
root filesystem, secrets injected, health check), the execution role's and the task role's
policies, and the container's port and timings, which the load balancer's target group and
health check must agree with. ``tests/container`` runs the real image exactly as
``container_definitions`` says.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from payments_infra.aws.policies import policy_document, regional_service
from payments_infra.config import REQUIRED_REGION

CONTAINER_NAME = "api"
CONTAINER_PORT = 8443
HEALTH_CHECK_PATH = "/healthz"
HEALTH_CHECK_INTERVAL_SECONDS = 30
# ECS's stop timeout: SIGTERM, then this long before SIGKILL. The API finishes in-flight
# requests within 25 s (its TIMEOUT_GRACEFUL_SHUTDOWN), inside this window.
STOP_TIMEOUT_SECONDS = 30
GRACEFUL_SHUTDOWN_SECONDS = 25
# The API keeps a connection idle between requests this long: longer than the ALB's idle
# timeout (load_balancer.IDLE_TIMEOUT_SECONDS, 60), so the ALB closes idle connections, never
# the API (else the ALB may send a request on a connection the API is closing: a 502).
KEEP_ALIVE_SECONDS = 65
# Same command as the image's HEALTHCHECK (app/api/Dockerfile; a test keeps them equal):
# liveness over HTTPS on localhost, where the certificate is self-signed.
CONTAINER_HEALTH_COMMAND = [
    "CMD",
    "python",
    "-c",
    "import ssl, urllib.request; urllib.request.urlopen('https://localhost:8443/healthz', "
    "context=ssl._create_unverified_context(), timeout=4)",
]


def read_secret_statements(secret_arns: Sequence[str], key_arn: str) -> list[dict[str, Any]]:
    """Read exactly these secrets, and decrypt with exactly their key, only through Secrets
    Manager."""
    return [
        {
            "Sid": "ReadDatabaseSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": list(secret_arns),
        },
        {
            "Sid": "DecryptDatabaseSecret",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": regional_service("secretsmanager")}},
        },
    ]


def execution_policy(
    secret_arns: Sequence[str], key_arn: str, log_group_arn: str, repository_arn: str | None
) -> str:
    """What ECS needs to start a task: pull this image, write this log group, read the
    secrets it injects."""
    statements = [
        {
            "Sid": "WriteTaskLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        *read_secret_statements(secret_arns, key_arn),
    ]
    if repository_arn:
        statements += [
            {
                "Sid": "AuthenticateToEcr",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": "*",  # this action has no resource-level permissions
            },
            {
                "Sid": "PullApiImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": [repository_arn],
            },
        ]
    return policy_document(*statements)


def container_definitions(
    image: str,
    log_group_name: str,
    secret_arn: str,
    secret_keys: Mapping[str, str],
) -> str:
    """The API container: non-root, read-only root filesystem with a writable /tmp, init
    process on, credentials injected as secrets (never plain environment)."""
    container = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}],
        "user": "10001:10001",
        "privileged": False,
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        "healthCheck": {
            "command": CONTAINER_HEALTH_COMMAND,
            "interval": HEALTH_CHECK_INTERVAL_SECONDS,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 20,
        },
        "secrets": [
            {"name": env, "valueFrom": f"{secret_arn}:{json_key}::"}
            for env, json_key in sorted(secret_keys.items())
        ],
        "environment": [
            {"name": "AWS_REGION", "value": REQUIRED_REGION},
            # Where the API re-reads credentials after a rotation (an ARN, not a secret).
            {"name": "DB_SECRET_ARN", "value": secret_arn},
            {"name": "PORT", "value": str(CONTAINER_PORT)},
            {"name": "TIMEOUT_GRACEFUL_SHUTDOWN", "value": str(GRACEFUL_SHUTDOWN_SECONDS)},
            {"name": "TIMEOUT_KEEP_ALIVE", "value": str(KEEP_ALIVE_SECONDS)},
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": REQUIRED_REGION,
                "awslogs-stream-prefix": CONTAINER_NAME,
                # A slow log pipe must not stall request handling.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
    }
    return json.dumps([container])


def one_off_container_definitions(
    *,
    name: str,
    image: str,
    command: Sequence[str],
    log_group_name: str,
    secrets: Sequence[tuple[str, str, str]],
) -> str:
    """A one-off task's container (one_off_tasks.py): the API's image and its hardening (the
    same user, read-only root filesystem with a writable /tmp, init process), a command of
    its own, no port, and ``secrets`` as (environment variable, secret ARN, JSON key)."""
    container = {
        "name": name,
        "image": image,
        "essential": True,
        "command": list(command),
        "user": "10001:10001",
        "privileged": False,
        "readonlyRootFilesystem": True,
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True},
        "secrets": [
            {"name": env, "valueFrom": f"{secret_arn}:{json_key}::"}
            for env, secret_arn, json_key in sorted(secrets)
        ],
        "environment": [{"name": "AWS_REGION", "value": REQUIRED_REGION}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": REQUIRED_REGION,
                "awslogs-stream-prefix": name,
            },
        },
    }
    return json.dumps([container])
