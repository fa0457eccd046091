"""Waiting for the state a Pilot test needs, never for a time.

A loaded machine makes every state come later, not differently: a test that
sleeps "long enough" fails when it is not, one that types before a form has
the focus loses its keys.  These helpers poll the state itself while the
app runs (the conftest fixtures ``wait_for``, ``settle`` and ``click``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.css.query import NoMatches

#: Seconds after which a state that never comes fails the test (a hang guard,
#: never a measure: a loaded machine only makes the states come later).
NEVER = 120.0


async def wait_for(
    pilot, predicate: Callable[[], object], what: str | Callable[[], str] = ""
) -> None:
    """Wait until ``predicate()`` is true, letting the app handle its messages,
    timers and workers meanwhile.  Tests wait for the state they need (a
    screen, a focused widget, a row, a written file), never for a time.

    The current screen must be mounted too (composed, its widgets there): a
    screen just pushed is ``app.screen`` before its widgets exist, and a
    test that waited for the screen then queries them.

    Args:
        what: the state waited for, said when it never comes (or a function
            that describes what there is instead).
    """
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + NEVER
    while True:
        try:
            if predicate() and app.screen.is_mounted:
                return
        except NoMatches:
            pass  # the widget is still being mounted
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what() if callable(what) else what}")
        await pilot.pause(0.01)


async def settle(pilot) -> None:
    """Let workers finish and their messages be handled (loads chain two messages)."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    # A write ends with a message: wait until it has been handled too.
    await wait_for(pilot, lambda: not getattr(app, "writes_pending", 0), "writes handled")
    await pilot.pause()


async def click(pilot, selector: str) -> None:
    """Click *selector* once it is on the screen (a click before the layout
    places it would land elsewhere)."""

    def placed() -> bool:
        widget = pilot.app.screen.query_one(selector)
        return widget.region.area > 0 and widget.display

    await wait_for(pilot, placed, f"{selector} on the screen")
    await pilot.click(selector)
