"""The unlock screen of an encrypted database: the passphrase or the recovery
key opens it; three wrong tries end it and are logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from visitlog.crashlog import log_path
from visitlog.store import Store, cipher, recovery
from visitlog.tui.unlock import NewDatabaseApp, UnlockApp

PASS = "口令 unlock passphrase"


@pytest.fixture
def locked_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS)
    db = tmp_path / "visitlog.db"
    Store(db).close()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    cipher.forget()
    return db


async def _try(app: UnlockApp, pilot, text: str) -> None:
    box = app.query_one("#unlock-input")
    box.value = text
    tries = app.tries
    await pilot.press("enter")
    for _ in range(200):  # the key derivation runs in a worker thread
        await pilot.pause(0.05)
        if app.tries != tries or app.return_value is not None:
            return


async def test_the_passphrase_opens_it_after_a_wrong_try(locked_db: Path):
    app = UnlockApp(locked_db)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.focused is app.query_one("#unlock-input")
        await _try(app, pilot, "not it")
        message = str(app.query_one("#unlock-message").render())
        assert "第 1 次" in message and app.is_running
        await _try(app, pilot, PASS)
    assert app.return_value is True
    with Store(locked_db) as store:  # the key is known now: no passphrase needed
        assert store.key is not None


async def test_three_wrong_tries_end_it_and_are_logged(locked_db: Path):
    app = UnlockApp(locked_db)
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(3):
            await _try(app, pilot, f"wrong {n}")
    assert app.return_value is False
    assert f"three wrong passphrases for {locked_db}" in log_path().read_text(encoding="utf-8")
    with pytest.raises(cipher.LockedError):
        Store(locked_db)


@pytest.fixture
def new_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where a new install's database will be: no passphrase at hand, none refused."""
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    cipher.forget()
    cipher.use_passphrase(None)
    yield tmp_path / "visitlog.db"
    cipher.use_passphrase(None)  # the passphrase chosen here is this test's only
    cipher.forget()


async def _type(app, pilot, text: str) -> None:
    app.query_one("#unlock-input").value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_a_new_database_is_made_encrypted_with_its_recovery_key_shown(new_db: Path):
    from visitlog.cli.common import State

    state = State(db_path=new_db)
    assert state.will_make_plain()  # what the terminal app checks before it starts
    app = NewDatabaseApp(new_db, state.make_encrypted)
    async with app.run_test(size=(80, 24)) as pilot:
        await _type(app, pilot, "short")
        assert "至少要" in str(app.query_one("#unlock-message").render())
        await _type(app, pilot, PASS)
        await _type(app, pilot, PASS + " not the same")
        assert "不一样" in str(app.query_one("#unlock-message").render())
        assert not new_db.exists()  # nothing made while the two differ
        await _type(app, pilot, PASS)
        await _type(app, pilot, PASS)
        for _ in range(200):  # the database is made in a worker thread
            await pilot.pause(0.05)
            if app.query("#recovery-key"):
                break
        shown = str(app.query_one("#recovery-key").render())
        await pilot.press("enter")  # the button: written down, go on
    assert app.return_value is True
    state.close()
    assert cipher.is_encrypted(new_db)
    assert not state.will_make_plain()
    cipher.forget()
    cipher.use_passphrase(None)
    recovery.unlock(new_db, shown)  # the key shown opens it, without the passphrase
    with Store(new_db) as store:
        assert store.key is not None


async def test_leaving_before_a_passphrase_makes_nothing(new_db: Path):
    made: list[str] = []
    app = NewDatabaseApp(new_db, made.append)
    async with app.run_test(size=(80, 24)) as pilot:
        await _type(app, pilot, PASS)
        await pilot.press("escape")
    assert app.return_value is False and made == [] and not new_db.exists()
