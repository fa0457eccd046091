"""Hybrid logical clock (HLC) stamps and device-made ids.

A stamp is the text ``"<13-digit unix ms>.<5-digit counter>"`` so that stamps
compare correctly as plain strings (and in SQL).  Ties between devices are
broken by the device id, giving the total order (hlc, device) that sync uses
for last-writer-wins.

The HLC never goes backwards while the laptop's wall clock stays within
:data:`MAX_AHEAD_MS` of it, and it moves past every stamp it has seen from
another device, so a change made after receiving another is stamped later.
The counter never passes 99,999: one more tick carries into the millisecond
(the clock then runs a millisecond ahead, which the next wall-clock tick
absorbs), so the text order stays the numeric order forever.

Two bounds keep a wrong clock from taking every other device with it:

- a received stamp more than :data:`MAX_AHEAD_MS` ahead of the wall clock
  does not move this clock at all (sync holds such changes below every other
  one, so no later change needs to be stamped after them: see
  :mod:`visitlog.sync.merge`);
- a clock that finds itself more than :data:`MAX_AHEAD_MS` ahead of the wall
  clock (its laptop's date was wrong and has been corrected) starts again
  from the wall clock instead of stamping every new change in the future.

:func:`wall_ms` is the only source of time; tests that need a skewed clock
replace it (``monkeypatch.setattr(visitlog.clock, "wall_ms", …)``).  The
program itself has no switch for it.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

#: How far ahead of the wall clock a stamp may be before it counts as wrong
#: (a day: laptops' clocks are minutes apart, not days).
MAX_AHEAD_MS = 24 * 60 * 60 * 1000
_COUNTER_DIGITS = 5
#: The highest counter a stamp carries; one more tick moves to the next ms.
MAX_COUNTER = 10**_COUNTER_DIGITS - 1
#: How far past :data:`MAX_AHEAD_MS` counter carries may take a clock that
#: followed a stamp within the bound before it counts as wrong: a carry moves
#: one ms per 100,000 ticks, so a minute is never reached by carries alone.
CARRY_SLACK_MS = 60 * 1000


@dataclass(frozen=True, order=True)
class Stamp:
    """A parsed HLC stamp."""

    ms: int
    counter: int

    def __str__(self) -> str:
        return f"{self.ms:013d}.{self.counter:0{_COUNTER_DIGITS}d}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        ms, _, counter = text.partition(".")
        return cls(int(ms), int(counter or 0))

    def next(self) -> Stamp:
        """The smallest stamp after this one (the counter carries into the ms)."""
        if self.counter < MAX_COUNTER:
            return Stamp(self.ms, self.counter + 1)
        return Stamp(self.ms + 1, 0)


ZERO = Stamp(0, 0)


def wall_ms() -> int:
    """The wall clock in milliseconds since 1970 (UTC)."""
    return time.time_ns() // 1_000_000


def now_ms() -> int:
    """:func:`wall_ms`, looked up when called (so a test's replacement is seen)."""
    return wall_ms()


def horizon(now: int | None = None) -> str:
    """The highest stamp that is not "far in the future" at wall time ``now``."""
    return str(Stamp((now_ms() if now is None else now) + MAX_AHEAD_MS, MAX_COUNTER))


class HLC:
    """A hybrid logical clock.

    Args:
        last: the highest stamp this device has issued or seen.
        now: the wall clock in ms (default :func:`now_ms`; injectable for tests).
    """

    def __init__(self, last: Stamp | str | None = None, now: Callable[[], int] | None = None):
        if isinstance(last, str):
            last = Stamp.parse(last)
        self.last = last or ZERO
        self._now = now or now_ms
        self._lock = threading.Lock()

    def tick(self) -> str:
        """A new stamp for a local change, later than every stamp seen.

        Exception: when this clock is more than a day (and a minute of carries)
        ahead of the wall clock (the laptop's date was wrong and has been put
        right) it restarts from the wall clock; the changes it stamped in the
        future are held by sync like any other far-future change.  A clock that
        followed a stamp just within the day and was carried a few ms past it
        by counter ticks keeps counting: restarting it would go backwards.
        """
        with self._lock:
            wall = self._now()
            if wall > self.last.ms or self.last.ms - wall > MAX_AHEAD_MS + CARRY_SLACK_MS:
                self.last = Stamp(wall, 0)
            else:
                self.last = self.last.next()
            return str(self.last)

    def observe(self, remote: str) -> bool:
        """Move past a stamp received from another device, unless it is far ahead.

        Returns:
            True when the remote stamp is more than a day ahead of our wall
            clock: this clock does not follow it, and the caller should
            report (and hold) the change.
        """
        stamp = Stamp.parse(remote)
        with self._lock:
            wall = self._now()
            far = stamp.ms - wall > MAX_AHEAD_MS
            if not far and stamp > self.last:
                self.last = stamp
            return far


def new_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so ids made on one device sort by creation."""
    ms = int(time.time() * 1000)
    rand = secrets.randbits(74)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def now_iso() -> str:
    """The wall clock as ISO 8601 text in UTC, to the second (for ``*_at`` columns)."""
    return dt.datetime.fromtimestamp(wall_ms() / 1000, dt.UTC).isoformat(timespec="seconds")
