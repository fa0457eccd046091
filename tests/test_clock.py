"""Hybrid logical clock and UUIDv7 ids."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from visitlog.clock import HLC, MAX_AHEAD_MS, MAX_COUNTER, Stamp, new_id


def test_tick_is_monotonic_when_wall_clock_goes_back():
    times = iter([1000, 2000, 1500, 1500, 900])
    clock = HLC(now=lambda: next(times))
    stamps = [clock.tick() for _ in range(5)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5


def test_observe_moves_past_remote_and_reports_far_future():
    clock = HLC(now=lambda: 10_000)
    far = str(Stamp(10_000 + MAX_AHEAD_MS + 1, 3))
    assert clock.observe(far) is True
    # not followed: the clock keeps to its wall clock
    assert clock.tick() == str(Stamp(10_000, 0))
    near = str(Stamp(10_500, 0))
    nearby = HLC(now=lambda: 10_000)
    assert nearby.observe(near) is False
    assert nearby.tick() > near


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


def test_counter_carries_into_the_millisecond():
    clock = HLC(Stamp(5_000, MAX_COUNTER - 1), now=lambda: 1_000)
    a, b, c = clock.tick(), clock.tick(), clock.tick()
    assert [a, b, c] == [str(Stamp(5_000, MAX_COUNTER)), str(Stamp(5_001, 0)), str(Stamp(5_001, 1))]
    assert a < b < c


@settings(max_examples=3, deadline=None)
# a stamp just within the day, the counter about to carry: the carries take the
# clock a few ms past the day, and it must keep counting, not restart
@example(ahead=MAX_AHEAD_MS - 1, start=MAX_COUNTER, wall=10**12)
@example(ahead=MAX_AHEAD_MS, start=MAX_COUNTER, wall=10**12)
@given(
    ahead=st.integers(1, MAX_AHEAD_MS),
    start=st.integers(0, MAX_COUNTER),
    wall=st.integers(10**12, 2 * 10**12),
)
def test_more_than_200000_ticks_behind_a_future_stamp_keep_their_text_order(ahead, start, wall):
    # The wall clock stands still behind the last stamp (a peer's clock ran
    # ahead), so every tick is a counter tick: the text order must hold
    # through every carry, and no stamp may be issued twice.
    clock = HLC(Stamp(wall + ahead, start), now=lambda: wall)
    prev = str(clock.last)
    for _ in range(250_000):
        stamp = clock.tick()
        assert stamp > prev
        prev = stamp
    assert len(prev) == len(str(Stamp(wall, 0)))
    assert Stamp.parse(prev) > Stamp(wall + ahead, start)


def test_a_received_stamp_moves_the_clock_at_most_a_day_ahead():
    clock = HLC(now=lambda: 10_000)
    assert clock.observe(str(Stamp(4_102_444_800_000, 0))) is True  # 2100-01-01: ignored
    assert clock.last == Stamp(0, 0)
    assert clock.observe(str(Stamp(10_000 + MAX_AHEAD_MS, 7))) is False  # a day: followed
    assert clock.tick() == str(Stamp(10_000 + MAX_AHEAD_MS, 8))


def test_a_clock_found_far_ahead_of_the_wall_clock_starts_again_from_it():
    # a laptop whose date said next year, then was put right
    times = iter([10_000 + 365 * MAX_AHEAD_MS, 10_000, 10_001])
    clock = HLC(now=lambda: next(times))
    future = clock.tick()
    assert Stamp.parse(clock.tick()) == Stamp(10_000, 0) < Stamp.parse(future)
    assert Stamp.parse(clock.tick()) == Stamp(10_001, 0)


def test_the_wall_clock_has_no_switch_in_the_environment(monkeypatch):
    from visitlog import clock

    monkeypatch.setenv("VISITLOG_CLOCK_OFFSET_MS", str(10 * MAX_AHEAD_MS))
    assert abs(clock.wall_ms() - time.time() * 1000) < 60_000
    source = Path(clock.__file__).read_text(encoding="utf-8")
    assert "environ" not in source and "getenv" not in source
