"""Helpers of the live tests: names derived from the stack's outputs, verified HTTPS with the
standard library, a bounded TCP probe, log-event search and a bounded load generator.

Free of pytest, so that each piece can be read (and unit-tested) on its own. Nothing here
turns TLS verification off: every HTTPS request verifies the server's certificate and name,
against the system trust store or against exactly one certificate the stack exported.
"""

from __future__ import annotations

import json
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ECS_CLUSTER_PREFIX = "ecs-cluster-"
USER_AGENT = "payments-live-tests/1.0"
DEFAULT_TIMEOUT_SECONDS = 10.0

# -- names ------------------------------------------------------------------------------------


def environment_suffix(ecs_cluster_name: str) -> str:
    """The stack's ``environmentSuffix``, read back from ``ecs-cluster-{suffix}``."""
    suffix = ecs_cluster_name.removeprefix(ECS_CLUSTER_PREFIX)
    if suffix == ecs_cluster_name or not suffix:
        raise ValueError(
            f"ecs_cluster_name should be {ECS_CLUSTER_PREFIX}<suffix>; got {ecs_cluster_name!r}"
        )
    return suffix


def db_cluster_identifier(db_cluster_endpoint: str) -> str:
    """The Aurora cluster id: the first label of its endpoint (``<id>.cluster-....rds...``)."""
    identifier = db_cluster_endpoint.split(".", maxsplit=1)[0]
    if not identifier:
        raise ValueError(f"not a cluster endpoint: {db_cluster_endpoint!r}")
    return identifier


def missing_api_key(protected: bool | None) -> tuple[str, str]:
    """What the live tests do without PAYMENTS_API_KEY: ("fail" or "skip", the reason). A
    protected (production) stack must have its payments path verified; a demo may skip it."""
    reason = (
        "no API key: set PAYMENTS_API_KEY to a key of the deployed API, made with "
        "python -m payments_api.cli.api_keys create (docs/deploy.md#api-keys)"
    )
    if protected:
        return "fail", f"{reason}; the stack protects its data, so verify needs the key"
    return "skip", reason


def stack_protects_data(root: Path, suffix: str) -> bool | None:
    """``payments:protectData`` of the stack under test: the stack file of ``root`` whose
    ``environmentSuffix`` is the deployed one. None when no stack file has that suffix, when
    those that have it disagree, or when its value is not a boolean."""
    from payments_infra.config.database_settings import PROTECT_DATA  # noqa: PLC0415
    from payments_infra.offline.stack_file import StackFileError, read_stack_config  # noqa: PLC0415

    found: set[bool] = set()
    for path in sorted(root.glob("Pulumi.*.yaml")):
        try:
            config = read_stack_config(path)
        except StackFileError:
            continue
        if config.get("payments:environmentSuffix") != suffix:
            continue
        value, problems = PROTECT_DATA.read(config)
        if problems:
            return None
        found.add(value)
    return found.pop() if len(found) == 1 else None


def expected_log_groups(outputs: Mapping[str, Any]) -> dict[str, str]:
    """The log groups the live tests check, by a short key (used as the test id)."""
    suffix = environment_suffix(outputs["ecs_cluster_name"])
    cluster = db_cluster_identifier(outputs["db_cluster_endpoint"])
    return {
        "vpc-flow-logs": outputs["flow_log_group_name"],
        "api": f"/ecs/api-{suffix}",
        "alb-access": outputs["alb_access_log_group_name"],
        "rds-postgresql": f"/aws/rds/cluster/{cluster}/postgresql",
    }


def web_acl_name_and_id(web_acl_arn: str) -> tuple[str, str]:
    """Name and id of a WAFv2 web ACL from its ARN (``...:global/webacl/<name>/<id>``)."""
    resource = web_acl_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) != 4 or parts[1] != "webacl" or not parts[2] or not parts[3]:
        raise ValueError(f"not a WAFv2 web ACL ARN: {web_acl_arn!r}")
    return parts[2], parts[3]


def api_origin_domain(distribution_config: Mapping[str, Any]) -> str | None:
    """The origin CloudFront sends ``/api/*`` to, or None when the distribution has no such
    behaviour (certificate mode 3, or mode 2 without ``payments:apiDomainName``)."""
    behaviours = distribution_config.get("CacheBehaviors", {}).get("Items") or []
    origin_id = next(
        (b["TargetOriginId"] for b in behaviours if b["PathPattern"] == "/api/*"), None
    )
    if origin_id is None:
        return None
    origins = distribution_config["Origins"].get("Items") or []
    (origin,) = [o for o in origins if o["Id"] == origin_id]
    return str(origin["DomainName"])


def admits_https_from_anywhere(ip_permissions: Iterable[Mapping[str, Any]]) -> bool:
    """True if a security group's ingress rules let any IPv4 address reach TCP 443."""
    for permission in ip_permissions:
        protocol = permission.get("IpProtocol")
        covers_443 = protocol == "-1" or (
            protocol == "tcp"
            and permission.get("FromPort", 0) <= 443 <= permission.get("ToPort", 65535)
        )
        anywhere = any(r.get("CidrIp") == "0.0.0.0/0" for r in permission.get("IpRanges", []))
        if covers_443 and anywhere:
            return True
    return False


def task_attachment_detail(task: Mapping[str, Any], name: str) -> str:
    """One detail (``subnetId``, ``networkInterfaceId``, ...) of a Fargate task's ENI."""
    for attachment in task.get("attachments", []):
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details", []):
                if detail.get("name") == name:
                    return str(detail["value"])
    raise KeyError(f"task {task.get('taskArn')} has no ENI detail {name!r}")


def live_payment_reference(key: uuid.UUID) -> str:
    """``live-test-<uuid>`` with dots for hyphens: the API rejects a reference holding a
    Luhn-valid run of 13-19 digits (spaces or hyphens allowed between groups), and a
    uuid's hyphenated groups can form one; with dots the longest digit run is 12."""
    return "live-test-" + str(key).replace("-", ".")


# -- HTTPS ------------------------------------------------------------------------------------


def tls_context(certificate_pem: str | None = None) -> ssl.SSLContext:
    """A verifying client context: the system trust store, or, given a PEM, exactly that one
    certificate as the only trust anchor (written to a temporary file and loaded from it).
    Hostname checking stays on in both cases."""
    if certificate_pem is None:
        return ssl.create_default_context()
    with tempfile.TemporaryDirectory(prefix="payments-live-") as directory:
        path = Path(directory) / "api-certificate.pem"
        path.write_text(certificate_pem)
        context = ssl.create_default_context(cafile=str(path))
    return context


@dataclass(frozen=True)
class Endpoint:
    """Where to send HTTPS requests, and the context that verifies the server."""

    base_url: str
    context: ssl.SSLContext
    why: str = ""

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        """Status, content type and the start of the body, for assertion messages."""
        return f"HTTP {self.status} ({self.header('Content-Type')}): {self.text()[:300]!r}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the response it is, instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def https_request(
    method: str,
    url: str,
    *,
    context: ssl.SSLContext,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HttpResponse:
    """One HTTPS request with a verifying context. Every status (4xx and 5xx included) is
    returned, not raised; connection and TLS errors are raised."""
    if not url.startswith("https://"):
        raise ValueError(f"only https URLs are requested; got {url!r}")
    data = None
    all_headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
    if json_body is not None:
        data = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpResponse(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResponse(error.code, error.headers, error.read())


def tcp_connect_outcomes(host: str, port: int, timeout: float) -> dict[str, str]:
    """Try a TCP connection to each IPv4 address of ``host`` (each bounded by ``timeout``)
    and say what happened: ``connected``, ``refused``, ``timed out`` or the error."""
    addresses = sorted(
        {
            str(info[4][0])
            for info in socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
        }
    )
    outcomes: dict[str, str] = {}
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                outcomes[address] = "connected"
        except ConnectionRefusedError:
            outcomes[address] = "refused"
        except TimeoutError:
            outcomes[address] = "timed out"
        except OSError as error:
            outcomes[address] = f"error: {error}"
    return outcomes


# -- CloudWatch -------------------------------------------------------------------------------


def has_event_since(logs: Any, log_group: str, start_time_ms: int, max_pages: int = 20) -> bool:
    """True if ``log_group`` holds an event at or after ``start_time_ms``.

    FilterLogEvents may answer a page with no events and a nextToken while more streams
    remain to search, so follow the token (at most ``max_pages`` pages) until an event shows.
    """
    arguments: dict[str, Any] = {
        "logGroupName": log_group,
        "startTime": start_time_ms,
        "limit": 1,
    }
    for _ in range(max_pages):
        page = logs.filter_log_events(**arguments)
        if page.get("events"):
            return True
        token = page.get("nextToken")
        if not token:
            return False
        arguments["nextToken"] = token
    return False


def stack_alarms(cloudwatch: Any, suffix: str) -> list[dict[str, Any]]:
    """Every metric and composite alarm named ``alarm-...-{suffix}``."""
    pages = cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix="alarm-", AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    alarms = [
        alarm
        for page in pages
        for kind in ("MetricAlarms", "CompositeAlarms")
        for alarm in page.get(kind, [])
    ]
    return [a for a in alarms if a["AlarmName"].endswith(f"-{suffix}")]


# -- load -------------------------------------------------------------------------------------


@dataclass
class LoadGenerator:
    """GET one URL from a few threads until stopped or ``max_requests`` are sent.

    Each request is bounded by ``timeout``; ``stop`` waits for the threads, so no request
    outlives the test by more than one timeout.
    """

    url: str
    context: ssl.SSLContext
    threads: int
    max_requests: int
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    outcomes: Counter[str] = field(default_factory=Counter)
    _sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.threads):
            worker = threading.Thread(target=self._run, name=f"load-{number}", daemon=True)
            self._workers.append(worker)
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.timeout + 5)

    @property
    def sent(self) -> int:
        with self._lock:
            return self._sent

    def summary(self) -> str:
        with self._lock:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.outcomes.items()))
            return f"{self._sent} requests ({counts or 'none answered'})"

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self._sent >= self.max_requests:
                    return
                self._sent += 1
            try:
                response = https_request(
                    "GET",
                    self.url,
                    context=self.context,
                    headers=self.headers,
                    timeout=self.timeout,
                )
                outcome = str(response.status)
            except OSError as error:  # URLError, TLS and socket errors are all OSErrors
                outcome = type(error).__name__
            with self._lock:
                self.outcomes[outcome] += 1


def wait_until(
    condition: Any, *, deadline_seconds: float, poll_seconds: float
) -> tuple[bool, float]:
    """Call ``condition()`` now and every ``poll_seconds`` until it is true or
    ``deadline_seconds`` have passed; return (met, seconds waited)."""
    started = time.monotonic()
    while True:
        if condition():
            return True, time.monotonic() - started
        remaining = deadline_seconds - (time.monotonic() - started)
        if remaining <= 0:
            return False, time.monotonic() - started
        time.sleep(min(poll_seconds, remaining))


# -- Secrets Manager --------------------------------------------------------------------------


def unfinished_rotations(version_ids_to_stages: Mapping[str, Iterable[str]]) -> list[str]:
    """The versions of a secret labelled AWSPENDING but not AWSCURRENT (DescribeSecret's
    ``VersionIdsToStages``): a rotation that started and has not finished. Once one finishes,
    AWSPENDING is on the current version or on none, so Secrets Manager starts the next."""
    return sorted(
        version
        for version, stages in version_ids_to_stages.items()
        if "AWSPENDING" in stages and "AWSCURRENT" not in stages
    )
