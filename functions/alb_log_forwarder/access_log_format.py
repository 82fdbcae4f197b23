"""An ALB access-log line parsed into a dict of AWS's field names (``parse_line``).

The format is AWS's documented one (Elastic Load Balancing guide, "Access logs for your
Application Load Balancer", "Access log entries"); a line that does not follow it raises
MalformedLineError, which the handler logs and skips.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# --- The ALB access-log entry (Elastic Load Balancing guide, "Access logs for your Application
# Load Balancer", "Access log entries"), space-separated, in this order. A field written
# "client:port" there is split here into client_ip and client_port.
REQUIRED_FIELDS = (
    "type",
    "time",
    "elb",
    "client:port",
    "target:port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "error_reason",
    "target_port_list",  # "target:port_list" in the guide
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
)
# Added to the guide after conn_trace_id with listener-rule transforms; older lines lack them.
OPTIONAL_FIELDS = ("transformed_host", "transformed_uri", "request_transform_status")
FLOAT_FIELDS = frozenset(
    {"request_processing_time", "target_processing_time", "response_processing_time"}
)
INT_FIELDS = frozenset(
    {
        "elb_status_code",
        "target_status_code",
        "received_bytes",
        "sent_bytes",
        "matched_rule_priority",
    }
)

# One field: a double-quoted string (backslash escapes allowed inside) or a run of non-spaces,
# followed by a space or the end of the line.
_FIELD = re.compile(r'"(?P<quoted>(?:[^"\\]|\\.)*)"(?= |$)|(?P<bare>[^ "]+)(?= |$)')
_ESCAPE = re.compile(r"\\([\"\\])")


class MalformedLineError(ValueError):
    """A line that is not an ALB access-log entry."""


def split_fields(line: str) -> list[str | None]:
    """The line's fields, quotes removed and escapes undone; ``-`` (absent) becomes None."""
    fields: list[str | None] = []
    pos, end = 0, len(line)
    while pos < end:
        match = _FIELD.match(line, pos)
        if match is None:
            raise MalformedLineError(f"unparseable field at character {pos}")
        quoted = match.group("quoted")
        value = _ESCAPE.sub(r"\1", quoted) if quoted is not None else match.group("bare")
        fields.append(None if value == "-" else value)
        pos = match.end()
        while pos < end and line[pos] == " ":
            pos += 1
    return fields


def timestamp_ms(iso_time: str) -> int:
    """Epoch milliseconds of an ALB ISO 8601 time such as ``2018-07-02T22:23:00.186641Z``."""
    moment = datetime.fromisoformat(iso_time)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _host_port(value: str | None, name: str) -> dict[str, Any]:
    """``10.0.0.1:80`` -> ip and port; the port is after the last colon (IPv6 addresses too)."""
    if value is None:
        return {f"{name}_ip": None, f"{name}_port": None}
    ip, sep, port = value.rpartition(":")
    if not sep or not ip or not port.isdigit():
        raise MalformedLineError(f"{name}:port is not ip:port")
    return {f"{name}_ip": ip.strip("[]"), f"{name}_port": int(port)}


def _request_parts(request: str | None) -> dict[str, str | None]:
    """``GET http://host:80/path HTTP/1.1`` -> verb, url and protocol (``- - -`` -> None)."""
    verb, _, rest = (request or "").strip().partition(" ")
    url, _, proto = rest.rpartition(" ") if " " in rest else (rest, "", "")
    return {
        "request_verb": verb if verb not in ("", "-") else None,
        "request_url": url if url not in ("", "-") else None,
        "request_proto": proto if proto not in ("", "-") else None,
    }


def _number(name: str, value: str | None) -> int | float | None:
    if value is None:
        return None
    try:
        return float(value) if name in FLOAT_FIELDS else int(value)
    except ValueError:
        raise MalformedLineError(f"{name} is not a number") from None


def parse_line(line: str) -> dict[str, Any]:
    """One ALB access-log line as a dict of AWS's field names; raises MalformedLineError.

    Absent values (``-``) are None; times stay ISO 8601 strings; processing times are floats
    (-1 when the load balancer could not dispatch the request, as AWS logs it); status codes,
    byte counts and the rule priority are ints. Fields after the known ones, which AWS may add,
    are kept in ``extra_fields``.
    """
    fields = split_fields(line.strip())
    if len(fields) < len(REQUIRED_FIELDS):
        raise MalformedLineError(
            f"{len(fields)} fields, an ALB entry has at least {len(REQUIRED_FIELDS)}"
        )
    known = REQUIRED_FIELDS + OPTIONAL_FIELDS
    values = dict(zip(known, fields, strict=False))
    record: dict[str, Any] = {}
    for name in known:
        value = values.get(name)
        if name == "client:port":
            record.update(_host_port(value, "client"))
        elif name == "target:port":
            record.update(_host_port(value, "target"))
        elif name in FLOAT_FIELDS or name in INT_FIELDS:
            record[name] = _number(name, value)
        else:
            record[name] = value
        if name == "request":
            record.update(_request_parts(value))
    if record["time"] is None:
        raise MalformedLineError("time is absent")
    try:
        timestamp_ms(record["time"])
    except ValueError:
        raise MalformedLineError("time is not an ISO 8601 time") from None
    record["extra_fields"] = fields[len(known) :]
    return record
