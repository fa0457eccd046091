"""The one shape of progress reports from long work.

Every engine that works for a while (roster import, sync, bundles, dedup,
the demo street) takes ``progress: Progress | None`` and calls it as
``progress(phase, done, total)``: ``phase`` is a short key naming the step
(``"rows"``, ``"send"``, ``"receive"``, ``"score"``…), ``done`` how much of
it is finished and ``total`` how much there is, or None when not known yet.
The CLI shows it with one rich progress bar, the TUI with one reporter.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(phase, done, total)``.
Progress = Callable[[str, int, int | None], None]


def report(progress: Progress | None, phase: str, done: int, total: int | None) -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(phase, done, total)
