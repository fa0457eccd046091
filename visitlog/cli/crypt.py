"""The encrypted database: ``encrypt`` and ``rekey``, and new passphrases for ``init``."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from visitlog.cli.common import (
    MAX_TRIES,
    ask_passphrase,
    console,
    err_console,
    new_passphrase,
    show_recovery,
)
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import LockedError, Store, cipher, convert, recovery

#: A new passphrase for ``rekey`` in scripts (the old one is ``VISITLOG_PASSPHRASE``).
NEW_PASSPHRASE_ENV = "VISITLOG_NEW_PASSPHRASE"

KeyringOpt = Annotated[bool, typer.Option("--keyring", help="help.crypt.keyring")]


def register(app: typer.Typer) -> None:
    app.command("encrypt", help="help.crypt.encrypt")(encrypt)
    app.command("rekey", help="help.crypt.rekey")(rekey)


def remember_in_keyring(path: Path, passphrase: str) -> None:
    saved = cipher.save_to_keyring(path, passphrase)
    err_console.print(t("enc.keyring_saved" if saved else "enc.keyring_none"))


def _path(ctx: typer.Context) -> Path:
    state = ctx.find_root().obj
    if state._store is not None:  # never two SQLite libraries on one file
        state.close()
    return state.path


def encrypt(ctx: typer.Context, keyring: KeyringOpt = False) -> None:
    """Encrypt a plain database in place, all or nothing."""
    path = _path(ctx)
    if not path.exists():
        raise VisitlogError(t("err.no_database", path=path))
    if cipher.is_encrypted(path):
        raise VisitlogError(t("enc.err.already", path=path))
    Store(path, create=False).close()  # a visitlog database, up to date
    passphrase = new_passphrase()
    key = cipher.derive(passphrase, secrets.token_bytes(cipher.SALT_BYTES))
    convert.rewrite(path, key, None)
    cipher.use_passphrase(passphrase)
    shown = recovery.new_recovery(path, key)
    console.print(t("enc.encrypted", path=path))
    show_recovery(shown)
    if keyring:
        remember_in_keyring(path, passphrase)


def rekey(ctx: typer.Context, keyring: KeyringOpt = False) -> None:
    """Change the passphrase: the file re-written whole under a new key."""
    path = _path(ctx)
    if not path.exists():
        raise VisitlogError(t("err.no_database", path=path))
    if not cipher.is_encrypted(path):
        raise VisitlogError(t("enc.err.plain", path=path))
    try:
        old = cipher.key_for(path)
    except LockedError:
        ask_passphrase(path)
        old = cipher.key_for(path)
    assert old is not None
    passphrase = new_passphrase(NEW_PASSPHRASE_ENV)
    new = cipher.derive(passphrase, secrets.token_bytes(cipher.SALT_BYTES))
    # Both keys wrapped while the file changes: a kill leaves one that opens it.
    kept = recovery.rewrap_recovery(path, [old, new])
    convert.rewrite(path, new, old)
    cipher.use_passphrase(passphrase)
    console.print(t("enc.rekeyed", path=path))
    if kept:
        recovery.rewrap_recovery(path, [new])
        console.print(t("enc.recovery_kept"))
    else:
        show_recovery(recovery.new_recovery(path, new))
    # A keyring that held the old passphrase would no longer open it.
    if keyring or cipher.keyring_passphrase(path):
        remember_in_keyring(path, passphrase)


__all__ = ["MAX_TRIES", "new_passphrase", "register", "show_recovery"]
