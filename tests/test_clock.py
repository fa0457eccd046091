"""Hybrid logical clock and UUIDv7 ids."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from visitlog.clock import HLC, MAX_AHEAD_MS, Stamp, new_id


def test_tick_is_monotonic_when_wall_clock_goes_back():
    times = iter([1000, 2000, 1500, 1500, 900])
    clock = HLC(now=lambda: next(times))
    stamps = [clock.tick() for _ in range(5)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5


def test_observe_moves_past_remote_and_reports_far_future():
    clock = HLC(now=lambda: 10_000)
    far = str(Stamp(10_000 + MAX_AHEAD_MS + 1, 3))
    assert clock.observe(far) is True
    assert clock.tick() > far
    near = str(Stamp(10_500, 0))
    assert HLC(now=lambda: 10_000).observe(near) is False


@given(
    st.lists(st.tuples(st.integers(0, 10**13 - 1), st.integers(0, 99_999)), min_size=2, max_size=20)
)
def test_stamp_text_order_matches_numeric_order(pairs):
    stamps = [Stamp(ms, c) for ms, c in pairs]
    assert sorted(stamps) == sorted(stamps, key=str)
    assert all(Stamp.parse(str(s)) == s for s in stamps)


def test_new_id_is_uuid7_and_unique():
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
