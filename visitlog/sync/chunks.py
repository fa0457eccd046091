"""A big exchange in chunks: which changes go in the next one, and progress over all of them.

A sync moves at most :data:`visitlog.sync.replica.CHUNK_CHANGES` changes
(both ways together) in one transaction, commits and starts the next chunk
(:mod:`visitlog.sync.replica`).  Per device, a chunk takes a prefix of what
the other side lacks, so each commit leaves both version vectors whole
(every number up to the highest held) and the next chunk, or the next sync
after a kill, starts where the last commit stopped.

Here is what is engine-free about it: the plan of one chunk
(:func:`plan_chunk`), where the next one starts (:class:`Cursor`), and the
progress of the whole exchange however many chunks it takes (:class:`Flow`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from visitlog.progress import Progress
from visitlog.progress import report as report_progress
from visitlog.sync.interface import Ranges


def spans(ranges: Ranges) -> int:
    """How many numbers the ranges cover (the changes they stand for, at most)."""
    return sum(last - first + 1 for first, last in ranges.values())


#: Per device, the numbers in its range of the changes a sender will really
#: send, in order (the rest it sends as skips, which weigh nothing).
Readable = dict[str, list[int]]


def weight(ranges: Ranges, readable: Readable | None = None) -> int:
    """How many changes the ranges will move: :func:`spans`, or with
    *readable*, how many of them the sender may read."""
    if readable is None:
        return spans(ranges)
    return sum(
        len(inside(readable, device, first, last)) for device, (first, last) in ranges.items()
    )


def inside(readable: Readable, device: str, first: int, last: int) -> list[int]:
    """The numbers *readable* gives for *device* from *first* to *last*."""
    seqs = readable.get(device, [])
    return seqs[bisect.bisect_left(seqs, first) : bisect.bisect_right(seqs, last)]


def prefix(
    ranges: Ranges,
    budget: int,
    order: list[str] | None = None,
    readable: Readable | None = None,
) -> Ranges:
    """The first *budget* changes of *ranges*, device after device in *order*
    (default: the ranges' own), each device's part a prefix of its range.

    With *readable*, only the changes the sender may read count: a range
    with none of them costs nothing, and a device's part ends just before
    the first change over the budget.
    """
    out: Ranges = {}
    for device in order if order is not None else list(ranges):
        if budget <= 0:
            break
        first, last = ranges[device]
        if readable is None:
            end = min(last, first + budget - 1)
            budget -= end - first + 1
        else:
            seqs = inside(readable, device, first, last)
            end = last if len(seqs) <= budget else seqs[budget] - 1
            budget -= min(len(seqs), budget)
        if end >= first:
            out[device] = (first, end)
    return out


@dataclass(frozen=True)
class Plan:
    """What one chunk moves: per device a prefix of what each side lacks."""

    send: Ranges
    receive: Ranges
    #: Something is left for a next chunk.
    truncated: bool


def plan_chunk(
    send: Ranges,
    receive: Ranges,
    limit: int | None,
    first_stamp: Callable[[str, str, int], str | None] | None = None,
    readable: Readable | None = None,
) -> Plan:
    """The chunk of at most *limit* changes to move next (None: all of them).

    Each direction may take at least half of the limit when it has that
    much; what one leaves unused the other may take.  Devices are filled in
    the order of the stamp of their first missing change (``first_stamp(
    direction, device, seq)``): rows are made before what is written about
    them, so a household tends to arrive before, not after, the visits other
    laptops recorded for it (those would wait as orphans, and be looked at
    again at every chunk, until it came).

    *readable*: what the sender of *receive* may read of it (a station of a
    hub reads a few of its changes), when it says so; what it may not read
    comes as skips and does not count.
    """
    want_s, want_r = spans(send), weight(receive, readable)
    if limit is None or want_s + want_r <= limit:
        return Plan(send, receive, False)
    take_s = min(want_s, max(limit // 2, limit - want_r))
    take_r = min(want_r, limit - take_s)

    def order(direction: str, ranges: Ranges) -> list[str] | None:
        if first_stamp is None or len(ranges) < 2:
            return None
        return sorted(ranges, key=lambda d: (first_stamp(direction, d, ranges[d][0]) or "", d))

    return Plan(
        prefix(send, take_s, order("send", send)),
        prefix(receive, take_r, order("receive", receive), readable),
        True,
    )


class Cursor:
    """Per direction and device, the last number already shipped by this sync.

    The next chunk starts after it even where the receiver's vector stayed
    behind (a sender that may not pass on some changes): the receiver then
    refuses the changes after the hole, as it would in one exchange, instead
    of being sent the same numbers again and again.
    """

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, int]] = {"send": {}, "receive": {}}
        self._readable: tuple[Ranges, Readable] | None = None

    def readable(
        self, ranges: Ranges, read: Callable[[Ranges], Readable | None]
    ) -> Readable | None:
        """What the sender may read of *ranges* (:func:`plan_chunk`), asked
        once a sync and again only when *ranges* reach past what was asked
        (another laptop synced between two chunks).  It sizes the chunks;
        what each chunk moves is read in the chunk itself."""
        cached = self._readable
        if cached is not None and all(
            device in cached[0] and last <= cached[0][device][1]
            for device, (_first, last) in ranges.items()
        ):
            return cached[1]
        got = read(ranges)
        self._readable = (dict(ranges), got) if got is not None else None
        return got

    def after(self, direction: str, ranges: Ranges) -> Ranges:
        """*ranges* without what this sync shipped that way already."""
        done = self.sent[direction]
        out: Ranges = {}
        for device, (first, last) in ranges.items():
            first = max(first, done.get(device, 0) + 1)
            if first <= last:
                out[device] = (first, last)
        return out

    def advance(self, plan: Plan) -> None:
        """Note what a committed chunk shipped."""
        for direction, ranges in (("send", plan.send), ("receive", plan.receive)):
            for device, (_first, last) in ranges.items():
                self.sent[direction][device] = last


class Flow:
    """Progress of the whole exchange, however many chunks it takes.

    ``send`` and ``receive`` count changes over the whole sync against what
    was missing in all; ``merge`` counts the rows recomputed so far against
    those known so far; ``commit`` counts the commits (two per chunk) against
    those expected.
    """

    def __init__(self, progress: Progress | None, limit: int | None):
        self.progress = progress
        self.limit = limit
        self.done = {"send": 0, "receive": 0}
        self.total = {"send": 0, "receive": 0}
        self.merged = 0
        self.commits = 0
        self.commit_total = 2

    def plan(self, send_left: int, receive_left: int) -> None:
        """At the start of a chunk: how much is left in all, this chunk's included."""
        self.total = {
            "send": self.done["send"] + send_left,
            "receive": self.done["receive"] + receive_left,
        }
        left = send_left + receive_left
        chunks = -(-left // self.limit) if self.limit and left else 1
        self.commit_total = self.commits + 2 * max(chunks, 1)

    def start(self, phase: str, ranges: Ranges) -> None:
        if ranges:
            report_progress(self.progress, phase, self.done[phase], self.total[phase])

    def moved(self, phase: str, count: int) -> None:
        self.done[phase] += count
        report_progress(self.progress, phase, self.done[phase], self.total[phase])

    def merging(self, base: int, merges: int) -> Progress | None:
        """The progress callback of one applier's merge: *base* rows of this
        chunk's *merges* are done before it starts."""
        progress = self.progress
        if progress is None or not merges:
            return None
        before = self.merged
        return lambda phase, done, _total: progress(phase, before + base + done, before + merges)

    def merged_chunk(self, merges: int) -> None:
        self.merged += merges

    def committed(self) -> None:
        self.commits += 1
        report_progress(self.progress, "commit", self.commits, self.commit_total)


__all__ = ["Cursor", "Flow", "Plan", "plan_chunk", "prefix", "spans"]
