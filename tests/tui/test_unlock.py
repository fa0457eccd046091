"""The unlock screen of an encrypted database: the passphrase or the recovery
key opens it; three wrong tries end it and are logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from visitlog.crashlog import log_path
from visitlog.store import Store, cipher
from visitlog.tui.unlock import UnlockApp

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
