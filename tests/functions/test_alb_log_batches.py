"""functions/alb_log_forwarder, log_batches: PutLogEvents batches within the count, size and
24-hour limits, oversized messages truncated, and log stream names."""

from __future__ import annotations

from functions.alb_log_forwarder.log_batches import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_MESSAGE_BYTES,
    TRUNCATION_MARKER,
    fit_message,
    make_batches,
    stream_name_for,
)

HOUR_MS = 60 * 60 * 1000


# --- make_batches and the event limit ------------------------------------------------------------


def test_exactly_10000_events_fit_in_one_batch() -> None:
    batches = make_batches([(1, "x")] * MAX_BATCH_EVENTS)
    assert [len(batch) for batch in batches] == [10_000]


def test_10001_events_need_two_batches() -> None:
    batches = make_batches([(1, "x")] * (MAX_BATCH_EVENTS + 1))
    assert [len(batch) for batch in batches] == [10_000, 1]


def test_events_that_total_exactly_the_byte_limit_share_one_batch() -> None:
    half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD_BYTES  # two events: exactly 1,048,576 bytes
    batches = make_batches([(1, "a" * half), (2, "b" * half)])
    assert len(batches) == 1


def test_events_one_byte_over_the_byte_limit_split_into_two_batches() -> None:
    half = MAX_BATCH_BYTES // 2 - EVENT_OVERHEAD_BYTES
    batches = make_batches([(1, "a" * half), (2, "b" * (half + 1))])
    assert [len(batch) for batch in batches] == [1, 1]


def test_byte_limit_counts_utf8_bytes_not_characters() -> None:
    euros = MAX_BATCH_BYTES // 2 // 3  # "€" is 3 bytes in UTF-8: the pair is over the limit
    batches = make_batches([(1, "€" * euros), (2, "€" * euros)])
    assert [len(batch) for batch in batches] == [1, 1]


def test_batches_are_sorted_by_timestamp() -> None:
    batches = make_batches([(3, "c"), (1, "a"), (2, "b")])
    assert batches == [[(1, "a"), (2, "b"), (3, "c")]]


def test_events_spanning_25_hours_split_into_two_batches() -> None:
    batches = make_batches([(0, "first"), (12 * HOUR_MS, "middle"), (25 * HOUR_MS, "last")])
    assert batches == [[(0, "first"), (12 * HOUR_MS, "middle")], [(25 * HOUR_MS, "last")]]


def test_events_within_23_hours_share_one_batch() -> None:
    assert len(make_batches([(0, "first"), (23 * HOUR_MS, "last")])) == 1


def test_no_events_make_no_batches() -> None:
    assert make_batches([]) == []


def test_oversized_message_is_truncated_to_the_event_limit_and_marked() -> None:
    message = fit_message("x" * (MAX_EVENT_MESSAGE_BYTES + 1000))
    assert len(message.encode("utf-8")) == MAX_EVENT_MESSAGE_BYTES
    assert message.endswith(TRUNCATION_MARKER)


def test_truncation_never_splits_a_multibyte_character() -> None:
    message = fit_message("€" * MAX_EVENT_MESSAGE_BYTES)
    assert len(message.encode("utf-8")) <= MAX_EVENT_MESSAGE_BYTES
    assert set(message.removesuffix(TRUNCATION_MARKER)) == {"€"}


def test_message_within_the_event_limit_is_left_alone() -> None:
    message = "y" * MAX_EVENT_MESSAGE_BYTES
    assert fit_message(message) is message


# --- log stream names ----------------------------------------------------------------------------


def test_stream_name_replaces_slashes_colons_and_asterisks() -> None:
    assert stream_name_for("AWSLogs/1/a:b*c.log.gz") == "AWSLogs_1_a_b_c.log.gz"


def test_stream_name_of_a_very_long_key_is_512_characters_and_unique() -> None:
    first, second = "p/" * 400 + "one.log.gz", "q/" * 400 + "one.log.gz"
    assert len(stream_name_for(first)) == 512
    assert stream_name_for(first) != stream_name_for(second)
