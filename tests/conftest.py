"""Shared fixtures: every test works in its own temporary data directory.

A test written as ``async def`` (the terminal app's Pilot tests) runs in an
event loop of its own (:func:`pytest_pyfunc_call`): no test wraps itself in
``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from visitlog.i18n import set_lang
from visitlog.store import Store, cipher

# PostgreSQL hubs: the pg and pg_hub fixtures (a database per test, dropped after)
pytest_plugins = ["pghub"]

# Property tests draw the same examples on every run, so the suite gives the
# same verdict on every machine; ``--hypothesis-profile explore`` draws fresh
# random examples, many more of them, to look for new failures.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=1000, print_blob=True, deadline=None)
settings.load_profile("default")

#: ``VISITLOG_TEST_ENCRYPTED=1`` runs the suite on encrypted databases: every
#: database a test makes is an SQLCipher file under TEST_PASSPHRASE (given as
#: ``VISITLOG_PASSPHRASE``, which child processes inherit).  Otherwise every
#: database a test makes is a plain SQLite file (``VISITLOG_PLAIN=1``).
ENCRYPTED = os.environ.get("VISITLOG_TEST_ENCRYPTED") == "1"
TEST_PASSPHRASE = "测试口令 test passphrase"

#: The demo street's "today" in tests, so data and snapshots never drift.
DEMO_TODAY = dt.date(2026, 11, 27)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test to its end in a fresh event loop (its fixtures are plain)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point platformdirs (HOME, XDG_*) at a temp folder: no test touches a real database."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("VISITLOG_DB", raising=False)
    monkeypatch.delenv("VISITLOG_LANG", raising=False)
    monkeypatch.delenv("VISITLOG_NEW_PASSPHRASE", raising=False)
    if ENCRYPTED:
        monkeypatch.setenv(cipher.PASSPHRASE_ENV, TEST_PASSPHRASE)
        monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    else:
        monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
        monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    cipher.forget()
    set_lang("zh")
    yield
    cipher.forget()
    set_lang("zh")


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[int | None], None]:
    """``full_disk(n)``: every database opened from then on in this process may grow
    by at most *n* pages (``PRAGMA max_page_count``), as on a disk about to fill up;
    ``full_disk(None)`` gives the room back.  The product has no switch for this:
    the test wraps ``Store.__init__``."""
    room: dict[str, int | None] = {"pages": None}
    real_init = Store.__init__

    def init(self: Store, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        if room["pages"] is not None:
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            self.conn.execute(f"PRAGMA max_page_count = {pages + room['pages']}")

    monkeypatch.setattr(Store, "__init__", init)

    def set_room(pages: int | None) -> None:
        room["pages"] = pages

    return set_room


@pytest.fixture
def skew_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """``skew_clock(ms)``: from then on this process's wall clock (``visitlog.clock.wall_ms``,
    the only source of time for stamps) runs *ms* ahead (behind if negative);
    ``skew_clock(0)`` puts it right.  The product has no switch for this."""
    from visitlog import clock

    real = clock.wall_ms
    offset = {"ms": 0}
    monkeypatch.setattr(clock, "wall_ms", lambda: real() + offset["ms"])

    def set_offset(ms: int) -> None:
        offset["ms"] = ms

    return set_offset


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "visitlog.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(db_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-household demo street, made once per session and copied per test."""
    from visitlog.demo import generate_into

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    s = Store(path)
    s.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")
    generate_into(s, households=200, seed=7, today=DEMO_TODAY)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo street database."""
    dest = tmp_path / "demo.db"
    dest.write_bytes(demo_template.read_bytes())
    return dest


@pytest.fixture
def demo_store(demo_db: Path) -> Iterator[Store]:
    s = Store(demo_db)
    yield s
    s.close()


class Cli:
    """Run ``visitlog --db DB …`` in-process and return the result."""

    def __init__(self, db: Path):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        from visitlog.cli import app

        return self.runner.invoke(app, ["--db", str(self.db), *args], input=input)

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)


@pytest.fixture
def demo_cli(demo_db: Path) -> Cli:
    return Cli(demo_db)
