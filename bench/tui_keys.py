"""Keys of the terminal app, timed from the key to the screen that shows its effect.

Run inside a measured child (``python -m bench.child tui_keys DB ROUNDS`` and
``tui_keys_baseline ROUNDS``).  A key counts as done at the first refresh of
the screen (``App._display``, called even headless; only the terminal write is
skipped) after which the screen shows what the key asked for:

- ``enter`` on the home table: the household's details, its facts filled in;
- ``i``: the open items of the grid, listed;
- ``n``: the new-visit form, the cursor in 民情摘要;
- ``escape`` in the search box holding a search (the first two characters
  of the first address): the box empty, every row back in the table, the
  cursor in the table.

The baseline is a minimal Textual app under the same harness: ``enter`` on a
200-row DataTable pushes a screen with a header, one line of text and a
footer, and ``escape`` pops it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any, ClassVar

#: Seconds a key may take before the run gives up on it.
GIVE_UP = 30.0


class Clock:
    """Times from a key to the first refresh at which a condition holds."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._condition: Callable[[], bool] | None = None
        self.done_at: float | None = None
        #: Process CPU seconds at the moment the condition was seen.
        self.cpu_at: float | None = None
        display = app._display

        def spy(*args: Any) -> None:
            display(*args)
            if self._condition is not None and self.done_at is None:
                try:
                    if self._condition():
                        self.done_at = time.perf_counter()
                        self.cpu_at = time.process_time()
                except Exception:  # a widget still being mounted
                    pass

        app._display = spy

    async def time(
        self, pilot: Any, keys: tuple[str, ...], condition: Callable[[], bool]
    ) -> tuple[float, float]:
        """Press *keys*; the milliseconds until *condition* was on screen, and
        the process's CPU milliseconds meanwhile (threads included)."""
        self._condition, self.done_at = condition, None
        c0 = time.process_time()
        t0 = time.perf_counter()
        await pilot.press(*keys)
        deadline = time.perf_counter() + GIVE_UP
        while self.done_at is None:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the screen never showed the effect of {keys}")
            await pilot.pause(0.001)
        self._condition = None
        assert self.cpu_at is not None
        return (self.done_at - t0) * 1000, (self.cpu_at - c0) * 1000


async def _until(pilot: Any, condition: Callable[[], bool], limit: float = GIVE_UP) -> None:
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("the app never got back to the home screen")
        await pilot.pause(0.005)


def _summary(times: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    return {
        key: {
            "median_ms": statistics.median(w for w, _c in v),
            "max_ms": max(w for w, _c in v),
            "cpu_median_ms": statistics.median(c for _w, c in v),
            "n": len(v),
        }
        for key, v in times.items()
    }


def tui_keys(db: str, rounds: str = "5") -> dict[str, Any]:
    """Time the keys of the home screen on *db*; returns the figures per key."""
    from textual.widgets import DataTable

    from visitlog.store import Store
    from visitlog.tui.app import make_app
    from visitlog.tui.screens.details import HouseholdScreen
    from visitlog.tui.screens.home import HomeScreen
    from visitlog.tui.screens.items import ItemsScreen
    from visitlog.tui.screens.visit_form import VisitFormScreen

    times: dict[str, list[tuple[float, float]]] = {
        "details": [],
        "items": [],
        "new_visit": [],
        "search_clear": [],
    }
    facts: dict[str, Any] = {}

    async def main() -> None:
        store = Store(db)
        app = make_app(store)
        async with app.run_test(size=(80, 24)) as pilot:
            home = app.screen
            assert isinstance(home, HomeScreen)
            # Start-up (the rows, then the search keys) is measured by tui_start.
            await _until(pilot, lambda: home.loaded and home.index is not None, limit=300)
            facts["households"] = len(home.rows)
            facts["grid"] = "all" if home.grid.startswith("\x00") else "own"
            clock = Clock(app)

            def back_home() -> bool:
                return app.screen is home and app.focused is home.table

            for _ in range(int(rounds)):
                await pilot.press("down")

                def details() -> bool:
                    s = app.screen
                    return isinstance(s, HouseholdScreen) and s.household is not None

                times["details"].append(await clock.time(pilot, ("enter",), details))
                await pilot.press("escape")
                await _until(pilot, back_home)

                def items() -> bool:
                    s = app.screen
                    return isinstance(s, ItemsScreen) and s.query_one(DataTable).row_count > 0

                times["items"].append(await clock.time(pilot, ("i",), items))
                await pilot.press("escape")
                await _until(pilot, back_home)

                def form() -> bool:
                    s = app.screen
                    return (
                        isinstance(s, VisitFormScreen)
                        and getattr(app.focused, "id", "") == "summary"
                    )

                times["new_visit"].append(await clock.time(pilot, ("n",), form))
                await pilot.press("escape")
                await _until(pilot, back_home)

                # The first two characters of the first address: found in any grid.
                await pilot.press("slash", *home.rows[0]["address"][:2])
                await _until(pilot, lambda: home.result.query != "" and home.table.row_count > 0)
                await app.workers.wait_for_complete()
                total = home.result.total

                def cleared(total: int = total) -> bool:
                    return (
                        home.query_one("#search").value == ""
                        and home.result.query == ""
                        and len(home.result.indices) == total
                        and app.focused is home.table
                    )

                times["search_clear"].append(await clock.time(pilot, ("escape",), cleared))
                await app.workers.wait_for_complete()
        store.close()

    asyncio.run(main())
    return {**facts, "keys": _summary(times)}


def tui_keys_baseline(rounds: str = "5") -> dict[str, Any]:
    """The same harness on a minimal Textual app: enter pushes a screen, escape pops it."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding, BindingType
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer, Header, Static

    class Shown(Screen):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "back")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("曹杨一村2号101室 赵明静 高龄")
            yield Footer()

    class Minimal(App):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable(cursor_type="row")
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("地址", "户主", "标签", "最近走访")
            table.add_rows(
                (f"曹杨一村{i // 6 + 1}号{i % 6 + 1}01室", "张**", "", "") for i in range(200)
            )
            table.focus()

        def on_data_table_row_selected(self) -> None:
            self.push_screen(Shown())

    times: dict[str, list[tuple[float, float]]] = {"push": []}

    async def main() -> None:
        app = Minimal()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            clock = Clock(app)
            table = app.query_one(DataTable)
            for _ in range(int(rounds)):
                await pilot.press("down")
                times["push"].append(
                    await clock.time(pilot, ("enter",), lambda: isinstance(app.screen, Shown))
                )
                await pilot.press("escape")
                await _until(pilot, lambda: app.focused is table)

    asyncio.run(main())
    return {"keys": _summary(times)}
