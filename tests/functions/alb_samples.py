"""ALB access-log lines for the forwarder's tests, and small fakes of the AWS clients.

The DOC_* lines are the example entries of AWS's "Access logs for your Application Load
Balancer" page (Elastic Load Balancing guide, "Example log entries"). DOC_HTTP is the page's
HTTP example as it stood when entries ended at conn_trace_id (30 fields); the others are as
they stand now, with the three transform fields after it. The CONSTRUCTED_* lines are not on
the page: they are written to its field descriptions, for cases it has no example of.
BUCKET, KEY and LOG_GROUP are where the tests' lines come from and go to.
"""

from __future__ import annotations

import gzip
import io
from typing import Any

from botocore.exceptions import ClientError

BUCKET = "alb-logs-prod1"
LOG_GROUP = "/aws/alb/access/alb-prod1"
# A real ALB object name under a prefix with a space and a '+', which the S3 event encodes.
KEY = (
    "alb access+logs/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/09/29/"
    "123456789012_elasticloadbalancing_us-east-1_app.alb-prod1.50dc6c495c0c9188_"
    "20260929T2340Z_10.0.1.15_2fh3k9ab.log.gz"
)

DOC_TIME = "2018-07-02T22:23:00.186641Z"
DOC_TIME_MS = 1_530_570_180_186

DOC_HTTP = (
    "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
    '"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z '
    '"forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90'
)

DOC_HTTPS = (
    "https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "
    '"GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 '
    "TLSv1.2 "
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" '
    '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" '
    '1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" '
    'TID_1234abcd5678ef90 "m.example.com" "-" "TransformSuccess"'
)

# The page's HTTP/2 example is also its redirect example.
DOC_H2_REDIRECT = (
    "h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "10.0.1.252:48160 10.0.0.66:9000 0.000 0.002 0.000 200 200 5 257 "
    '"GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" 1 2018-07-02T22:22:48.364000Z '
    '"redirect" "https://example.com:80/" "-" "10.0.0.66:9000" "200" "-" "-" '
    'TID_1234abcd5678ef90 "-" "-" "-"'
)

DOC_WS = (
    "ws 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "10.0.0.140:40914 10.0.1.192:8010 0.001 0.003 0.000 101 101 218 587 "
    '"GET http://10.0.0.30:80/ HTTP/1.1" "-" - - '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 1 2018-07-02T22:22:48.364000Z '
    '"forward" "-" "-" "10.0.1.192:8010" "101" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)

DOC_WSS = (
    "wss 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "10.0.0.140:44244 10.0.0.171:8010 0.000 0.001 0.000 101 101 218 786 "
    '"GET https://10.0.0.30:443/ HTTP/1.1" "-" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 1 2018-07-02T22:22:48.364000Z '
    '"forward" "-" "-" "10.0.0.171:8010" "101" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)

# A Lambda target: no target:port, and no target:port_list or status code list.
DOC_LAMBDA = (
    "http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 - 0.000 0.001 0.000 200 200 34 366 "
    '"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z '
    '"forward" "-" "-" "-" "-" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)

DOC_LAMBDA_FAILED = (
    "http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "
    '"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z '
    '"forward" "-" "LambdaInvalidResponse" "-" "-" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)

# Not dispatched: a malformed request over TLS. The guide: processing times are -1 when the
# load balancer can't dispatch the request (e.g. the client sent a malformed request).
CONSTRUCTED_NOT_DISPATCHED = (
    "https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 - -1 -1 -1 400 - 0 272 "
    '"- - - " "-" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - "-" "-" "-" - '
    '2018-07-02T22:23:00.186641Z "-" "-" "-" "-" "-" "-" "-" TID_1234abcd5678ef90 "-" "-" "-"'
)

BROWSER_USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "Gecko")'
# DOC_HTTPS with a browser's user agent: spaces, and a double quote escaped as \".
CONSTRUCTED_BROWSER = DOC_HTTPS.replace(
    '"curl/7.46.0"', '"' + BROWSER_USER_AGENT.replace('"', '\\"') + '"'
)

# An IPv6 client, written as the guide writes client:port (no brackets).
CONSTRUCTED_IPV6_CLIENT = DOC_HTTP.replace("192.168.131.39:2817", "2001:db8::1:2817")


def at_time(line: str, time: str) -> str:
    """The line with its ``time`` field (the second field) replaced."""
    kind, _, rest = line.partition(" ")
    _, _, rest = rest.partition(" ")
    return f"{kind} {time} {rest}"


def gzipped(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))


def client_error(code: str, operation: str = "PutLogEvents") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"fake {code}"}}, operation)


class FakeS3:
    """get_object over a dict of bucket/key -> bytes."""

    def __init__(self, objects: dict[tuple[str, str], bytes]) -> None:
        self.objects = objects

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's)
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


class FakeLogs:
    """A CloudWatch Logs client whose PutLogEvents raises the scripted errors first."""

    def __init__(self, errors: list[ClientError] | None = None) -> None:
        self.errors = list(errors or [])
        self.put_calls = 0
        self.accepted: list[list[dict[str, Any]]] = []  # logEvents of each call that succeeded
        self.streams: list[str] = []

    def create_log_stream(self, *, logGroupName: str, logStreamName: str) -> None:  # noqa: N803
        self.streams.append(logStreamName)

    def put_log_events(self, **kwargs: Any) -> dict[str, Any]:
        self.put_calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.accepted.append(kwargs["logEvents"])
        return {}


class RecordingSleep:
    """A stand-in for time.sleep: records the delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
