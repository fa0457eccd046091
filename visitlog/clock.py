"""Hybrid logical clock (HLC) stamps and device-made ids.

A stamp is the text ``"<13-digit unix ms>.<5-digit counter>"`` so that stamps
compare correctly as plain strings (and in SQL).  Ties between devices are
broken by the device id, giving the total order (hlc, device) that sync uses
for last-writer-wins.  The HLC never goes backwards even when the laptop's
wall clock does, and it moves past any stamp it has seen from another device,
so a change made after receiving another is always stamped later.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

#: A remote stamp further ahead of our wall clock than this is reported.
MAX_AHEAD_MS = 24 * 60 * 60 * 1000
_COUNTER_DIGITS = 5


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


ZERO = Stamp(0, 0)


def wall_ms() -> int:
    """Wall clock in ms; VISITLOG_CLOCK_OFFSET_MS shifts it (tests of skew)."""
    return int(time.time() * 1000) + int(os.environ.get("VISITLOG_CLOCK_OFFSET_MS", "0") or 0)


class HLC:
    """A hybrid logical clock.

    Args:
        last: the highest stamp this device has issued or seen.
        now: the wall clock in ms (injectable for tests).
    """

    def __init__(self, last: Stamp | str | None = None, now: Callable[[], int] = wall_ms):
        if isinstance(last, str):
            last = Stamp.parse(last)
        self.last = last or ZERO
        self._now = now
        self._lock = threading.Lock()

    def tick(self) -> str:
        """A new stamp for a local change, later than every stamp seen."""
        with self._lock:
            wall = self._now()
            if wall > self.last.ms:
                self.last = Stamp(wall, 0)
            else:
                self.last = Stamp(self.last.ms, self.last.counter + 1)
            return str(self.last)

    def observe(self, remote: str) -> bool:
        """Move past a stamp received from another device.

        Returns:
            True when the remote stamp is more than a day ahead of our wall
            clock: it is still accepted (refusing would lose the change), but
            the caller should report it.
        """
        stamp = Stamp.parse(remote)
        with self._lock:
            wall = self._now()
            if stamp > self.last:
                self.last = stamp
            return stamp.ms - wall > MAX_AHEAD_MS


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
