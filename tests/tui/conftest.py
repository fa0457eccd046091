"""Fixtures of the terminal-app tests: the demo street, a fixed today, settling helpers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from pilot_support import click as _click
from pilot_support import settle as _settle
from pilot_support import wait_for as _wait_for

from visitlog.store import Store

#: The demo street's today (tests/conftest.py DEMO_TODAY), so dates never drift.
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def _no_start_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The home screen waits a moment before building search keys (so the first
    paint is not slowed); tests need not wait for that timer."""
    from visitlog.tui.screens import home

    monkeypatch.setattr(home, "INDEX_DELAY", 0.001)
    monkeypatch.setattr(home, "FULL_LOAD_DELAY", 0.0)


@pytest.fixture
def today() -> dt.date:
    return TODAY


@pytest.fixture
def tui_store(demo_db: Path) -> Iterator[Store]:
    """The 200-household demo street; worker 王丽华, my grid 曹杨一村1号网格."""
    s = Store(demo_db)
    yield s
    s.close()


def _plain(widget) -> str:
    """The text a Static shows (rich renderables rendered without styles)."""
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@pytest.fixture
def plain() -> Callable[[object], str]:
    return _plain


@pytest.fixture
def settle() -> Callable[[object], Awaitable[None]]:
    return _settle


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[None]]:
    """``await wait_for(pilot, lambda: …, "what")``: see :func:`_wait_for`."""
    return _wait_for


@pytest.fixture
def click() -> Callable[..., Awaitable[None]]:
    """``await click(pilot, "#choice-yes")``: see :func:`_click`."""
    return _click
