"""The encrypted database: no plain text in the file, its WAL or a backup; keys,
passphrases and the recovery key; ``encrypt`` and ``rekey`` all or nothing."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import visitlog.cli.common as common
from visitlog.cli import app
from visitlog.crashlog import log_path
from visitlog.model import Household, Visit, VisitlogError
from visitlog.store import DraftBox, LockedError, Store, WrongKeyError, cipher, files, recovery

NAME = "王秀英"
PHONE = "13812345678"
PASS = "第一个口令 first"
PASS2 = "second 第二个口令"
RECOVERY = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{1,4}){12}")


@pytest.fixture
def encrypted_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """New databases are encrypted under PASS, whichever way the suite runs."""
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS)
    cipher.forget()


def _cli(*args: object, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result


def _fill(store: Store) -> None:
    hid = store.add_household(
        Household(address="曹杨一村12号301室", micro_grid="一网格", head=NAME, phone=PHONE)
    ).id
    store.add_visit(
        Visit(household_id=hid, visit_date="2026-11-20", visitor="李社工", summary=NAME)
    )


def _contains_plain(path: Path) -> bool:
    data = path.read_bytes()
    return NAME.encode() in data or PHONE.encode() in data


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_plain_text_in_the_file_its_wal_or_a_backup(encrypted_env, tmp_path: Path):
    db = tmp_path / "visitlog.db"
    store = Store(db)
    assert store.key is not None
    _fill(store)
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 0  # the changes are still in the WAL
    assert not _contains_plain(wal)
    backup = store.backup(tmp_path / "备份.db")
    store.close()
    assert not _contains_plain(db)
    assert not _contains_plain(backup)
    assert not db.read_bytes().startswith(files.SQLITE_MAGIC)
    # The same data in a plain file shows both: the check above can fail.
    with cipher.making_plain():
        plain = Store(tmp_path / "plain.db")
    assert plain.key is None
    _fill(plain)
    plain.close()
    assert _contains_plain(tmp_path / "plain.db")


def test_a_backup_opens_with_the_passphrase_and_restores(encrypted_env, tmp_path: Path):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
        store.backup(tmp_path / "backup.db")
    cipher.forget()  # another day, another process: only the passphrase
    restored = tmp_path / "restored.db"
    (tmp_path / "backup.db").rename(restored)
    with Store(restored) as store:
        assert [h.head for h in store.list_households()] == [NAME]
        assert store.check() == []


def test_the_key_is_derived_once_per_process(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    calls = []
    real = cipher.derive
    monkeypatch.setattr(cipher, "derive", lambda p, s: calls.append(1) or real(p, s))
    first = Store(db)
    second = Store(db)
    with first.reader() as conn:
        assert conn.execute("SELECT count(*) FROM households").fetchone()[0] == 1
    with second.reader() as conn:
        assert conn.execute("SELECT count(*) FROM visits").fetchone()[0] == 1
    first.close()
    second.close()
    assert len(calls) == 1


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64") or sys.platform != "linux",
    reason="the library's functions are reached this way on x86-64 Linux only",
)
def test_sqlciphers_memory_statistics_are_off_and_files_still_open(encrypted_env, tmp_path):
    """The library counts no allocation (no lock shared by parallel readers),
    and encrypted files open and read as before after its restart."""
    import ctypes

    from sqlcipher3 import _sqlite3

    assert cipher.MEMORY_STATISTICS_OFF
    lib = ctypes.CDLL(_sqlite3.__file__)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
        with store.reader() as conn:
            rows = conn.execute("SELECT head FROM households ORDER BY random()").fetchall()
            assert rows == [(NAME,)]
            assert lib.sqlite3_memory_used() == 0
    assert cipher.is_encrypted(db) and not _contains_plain(db)


def test_the_passphrase_alone_opens_it_with_sqlcipher(encrypted_env, tmp_path: Path):
    """SQLCipher 4's own key derivation: any SQLCipher tool opens the file."""
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    conn = cipher.sqlcipher.connect(str(db))
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute("PRAGMA key = '" + PASS.replace("'", "''") + "'")
    assert conn.execute("SELECT head FROM households").fetchone()[0] == NAME
    conn.close()


def test_wrong_passphrase_one_line_exit_1_nothing_changed(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    before = _digest(db)
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, "not the passphrase")
    result = _cli("--db", db, "household", "add", "--address", "兰溪路1弄2号", "--grid", "二网格")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and cipher.PASSPHRASE_ENV in lines[0]
    assert "Traceback" not in result.output
    assert _digest(db) == before
    with pytest.raises(WrongKeyError):
        Store(db)


def test_no_passphrase_off_a_terminal_says_how(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    Store(db).close()
    cipher.forget()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    with pytest.raises(LockedError):
        Store(db)
    result = _cli("--lang", "en", "--db", db, "household", "list")
    assert result.exit_code == 1
    assert "VISITLOG_PASSPHRASE" in result.output and "terminal" in result.output
    assert len(result.output.strip().splitlines()) == 1


def _typed(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """A terminal where the person types *answers* in turn; returns the prompts shown."""
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(common, "on_terminal", lambda: True)
    monkeypatch.setattr(common, "ask_secret", ask)  # every prompt of the CLI asks through it
    return prompts


def test_three_wrong_tries_at_the_prompt_are_logged(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    prompts = _typed(monkeypatch, ["wrong one", "wrong two", "wrong three"])
    result = _cli("--db", db, "household", "list")
    assert result.exit_code == 1 and len(prompts) == 3
    assert "三次口令都不对" in result.output
    assert f"three wrong passphrases for {db}" in log_path().read_text(encoding="utf-8")


def test_the_prompt_takes_the_passphrase_after_a_wrong_try(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    prompts = _typed(monkeypatch, ["wrong one", PASS])
    result = _cli("--db", db, "household", "list", "--json")
    assert result.exit_code == 0, result.output
    assert len(prompts) == 2 and NAME in result.stdout


def test_init_encrypts_and_shows_the_recovery_key_once(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    result = _cli("--db", db, "init", "--worker", "李社工")
    assert result.exit_code == 0, result.output
    [rk] = RECOVERY.findall(result.stdout)
    assert cipher.is_encrypted(db)
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    # The passphrase forgotten: the recovery key opens it, at the prompt too.
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    _typed(monkeypatch, [rk.lower().replace("-", " - ")])
    listed = _cli("--db", db, "household", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert NAME in listed.stdout
    # A second init shows no key again.
    again = _cli("--db", db, "init", "--worker", "李社工")
    assert again.exit_code == 0 and not RECOVERY.findall(again.stdout)


def test_init_off_a_terminal_without_a_passphrase_says_how(tmp_path, monkeypatch):
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    result = _cli("--db", db, "init", "--worker", "李社工")
    assert result.exit_code == 1 and cipher.PASSPHRASE_ENV in result.output
    assert not db.exists()
    plain = _cli("--db", db, "init", "--worker", "李社工", "--plain")
    assert plain.exit_code == 0 and "visitlog encrypt" in plain.output
    assert not cipher.is_encrypted(db)


def test_init_asks_twice_and_refuses_a_mismatch(tmp_path, monkeypatch):
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    _typed(monkeypatch, ["a long passphrase", "another passphrase"])
    result = _cli("--db", db, "init", "--worker", "李社工")
    assert result.exit_code == 1 and "不一样" in result.output and not db.exists()
    _typed(monkeypatch, ["short"])
    result = _cli("--db", db, "init", "--worker", "李社工")
    assert result.exit_code == 1 and "太短" in result.output and not db.exists()
    _typed(monkeypatch, ["a long passphrase", "a long passphrase"])
    result = _cli("--db", db, "init", "--worker", "李社工")
    assert result.exit_code == 0 and cipher.is_encrypted(db)


def test_a_first_command_off_a_terminal_makes_no_plain_database(tmp_path, monkeypatch):
    """A new install whose first command is not init (an import, a listing, the
    demo) makes no plain file: off a terminal it says what to do."""
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    for args in (["household", "list"], ["demo", "-n", "3"], ["--lang", "en", "check"]):
        result = _cli("--db", db, *args)
        assert result.exit_code == 1, result.output
        assert "visitlog init" in result.output and cipher.PASSPHRASE_ENV in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert not db.exists()


def test_a_first_command_on_a_terminal_asks_a_passphrase_and_encrypts(tmp_path, monkeypatch):
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    prompts = _typed(monkeypatch, ["a long passphrase", "a long passphrase"])
    result = _cli(
        "--db",
        db,
        "household",
        "add",
        "--head",
        NAME,
        "--address",
        "兰溪路1号",
        "--grid",
        "曹杨一村1号网格",
        "--community",
        "曹杨一村",
    )
    assert result.exit_code == 0, result.output
    assert len(prompts) == 2 and cipher.is_encrypted(db) and not _contains_plain(db)
    [rk] = RECOVERY.findall(result.stderr)
    assert not RECOVERY.findall(result.stdout)  # stdout may be a pipe: the key goes to the person
    cipher.forget()
    _typed(monkeypatch, [rk])
    listed = _cli("--db", db, "household", "list", "--json")
    assert listed.exit_code == 0 and NAME in listed.stdout


def test_a_first_command_with_plain_asked_for_makes_a_plain_file(tmp_path, monkeypatch):
    monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    result = _cli("--db", db, "household", "list", "--json")
    assert result.exit_code == 0 and db.exists() and not cipher.is_encrypted(db)


def test_a_plain_database_keeps_working_and_encrypts(tmp_path, monkeypatch):
    monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    monkeypatch.delenv(cipher.PASSPHRASE_ENV, raising=False)
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    assert _cli("--db", db, "household", "list").exit_code == 0
    hint = _cli("--db", db, "init", "--worker", "李社工")
    assert hint.exit_code == 0 and "visitlog encrypt" in hint.output
    # encrypt needs a passphrase: none here, nothing changes.
    before = _digest(db)
    refused = _cli("--db", db, "encrypt")
    assert refused.exit_code == 1 and _digest(db) == before
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS)
    result = _cli("--db", db, "encrypt")
    assert result.exit_code == 0, result.output
    [rk] = RECOVERY.findall(result.stdout)
    assert not _contains_plain(db)
    cipher.forget()
    with Store(db) as store:
        assert [h.head for h in store.list_households()] == [NAME]
        assert store.check() == []
    cipher.forget()
    assert recovery.open_with_recovery(db, rk) is not None
    again = _cli("--db", db, "encrypt")
    assert again.exit_code == 1 and "rekey" in again.output


def test_encrypt_refused_while_another_program_has_it_open(tmp_path, monkeypatch):
    monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT count(*) FROM households').fetchone(); print('open', flush=True); "
            "time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        before = _digest(db)
        monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS)
        result = _cli("--db", db, "encrypt")
        assert result.exit_code == 1 and "另一个程序" in result.output
        assert _digest(db) == before and not cipher.is_encrypted(db)
    finally:
        holder.kill()
        holder.wait()
    assert not list(tmp_path.glob(".*.tmp"))


def test_rekey_changes_the_passphrase_and_keeps_the_recovery_key(
    encrypted_env, tmp_path, monkeypatch
):
    db = tmp_path / "visitlog.db"
    result = _cli("--db", db, "init", "--worker", "李社工")
    [rk] = RECOVERY.findall(result.stdout)
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", PASS2)
    result = _cli("--db", db, "rekey")
    assert result.exit_code == 0, result.output
    assert not RECOVERY.findall(result.stdout)  # the old one still holds
    cipher.forget()
    with pytest.raises(WrongKeyError):
        Store(db)  # VISITLOG_PASSPHRASE is still the old one
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS2)
    with Store(db) as store:
        assert [h.head for h in store.list_households()] == [NAME]
    cipher.forget()
    assert recovery.open_with_recovery(db, rk)
    # Forgotten passphrase: the recovery key stands for it, then a third one.
    cipher.forget()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", "third 第三个口令")
    _typed(monkeypatch, [rk])
    result = _cli("--db", db, "rekey")
    assert result.exit_code == 0, result.output
    cipher.forget()
    with pytest.raises(WrongKeyError):
        recovery.unlock(db, PASS2)
    assert recovery.unlock(db, "third 第三个口令")


def test_a_lost_recovery_file_leaves_the_passphrase_working(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    result = _cli("--db", db, "init", "--worker", "李社工")
    [rk] = RECOVERY.findall(result.stdout)
    recovery.recovery_path(db).unlink()
    cipher.forget()
    with Store(db) as store:
        assert store.key is not None
    cipher.forget()
    with pytest.raises(WrongKeyError):
        recovery.open_with_recovery(db, rk)
    # rekey makes a new recovery key, shown once.
    monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", PASS2)
    result = _cli("--db", db, "rekey")
    assert result.exit_code == 0 and len(RECOVERY.findall(result.stdout)) == 1


def test_a_wrong_recovery_key_is_refused(encrypted_env, tmp_path: Path):
    db = tmp_path / "visitlog.db"
    _cli("--db", db, "init", "--worker", "李社工")
    cipher.forget()
    other = recovery.format_recovery_key(os.urandom(32))
    with pytest.raises(WrongKeyError):
        recovery.unlock(db, other)


def test_rekey_and_encrypt_refuse_what_they_cannot_do(tmp_path, monkeypatch):
    monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    db = tmp_path / "visitlog.db"
    assert _cli("--db", db, "encrypt").exit_code == 1  # no database
    Store(db).close()
    result = _cli("--db", db, "rekey")
    assert result.exit_code == 1 and "encrypt" in result.output
    with pytest.raises(VisitlogError):
        cipher.check_new_passphrase("short")


@pytest.mark.slow
def test_encrypt_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path, monkeypatch):
    monkeypatch.setenv(cipher.PLAIN_ENV, "1")
    template = tmp_path / "template.db"
    result = _cli("--db", template, "demo", "--households", "3000")
    assert result.exit_code == 0, result.output
    with Store(template) as store:
        expected = store.count_live()
    env = {**os.environ, cipher.PASSPHRASE_ENV: PASS}
    env.pop(cipher.PLAIN_ENV)
    command = [sys.executable, "-m", "visitlog", "--db"]
    # How long a whole run takes, to spread the kills over it.
    probe = tmp_path / "probe.db"
    probe.write_bytes(template.read_bytes())
    started = time.monotonic()
    subprocess.run([*command, str(probe), "encrypt"], env=env, check=True, capture_output=True)
    whole = time.monotonic() - started
    outcomes = {"plain": 0, "encrypted": 0}
    for n in range(12):
        db = tmp_path / f"run{n}" / "visitlog.db"
        db.parent.mkdir()
        db.write_bytes(template.read_bytes())
        proc = subprocess.Popen([*command, str(db), "encrypt"], env=env, stdout=subprocess.DEVNULL)
        time.sleep(whole * (0.3 + n / 12))
        proc.kill()
        proc.wait()
        cipher.forget()
        monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS)
        kind = "encrypted" if cipher.is_encrypted(db) else "plain"
        outcomes[kind] += 1
        with Store(db) as store:
            assert store.count_live() == expected
            assert store.check() == []
            assert (store.key is not None) == (kind == "encrypted")
        monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    files.sweep_leftovers()
    assert not list(tmp_path.glob("run*/.*.tmp*"))
    assert outcomes["plain"] and outcomes["encrypted"], outcomes


def test_drafts_beside_an_encrypted_database_are_sealed_and_follow_rekey(
    encrypted_env, tmp_path, monkeypatch
):
    db = tmp_path / "visitlog.db"
    Store(db).close()
    box = DraftBox(db)
    box.save("visit:new", "visit", {"summary": f"{NAME} {PHONE}"})
    [path] = list(box.folder.iterdir())
    assert not _contains_plain(path)
    assert DraftBox(db).get("visit:new").data["summary"] == f"{NAME} {PHONE}"
    monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", PASS2)
    assert _cli("--db", db, "rekey").exit_code == 0
    cipher.forget()
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, PASS2)
    Store(db).close()
    assert DraftBox(db).get("visit:new").data["summary"] == f"{NAME} {PHONE}"
    # Without the key a sealed draft is not shown (nor a crash).
    cipher.forget()
    assert DraftBox(db).list() == []


class _Keyring:
    """A system keyring as the ``keyring`` package shows it; ``broken`` raises."""

    def __init__(self, broken: bool = False):
        self.broken = broken
        self.saved: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        if self.broken:
            raise RuntimeError("no backend")
        return self.saved.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        if self.broken:
            raise RuntimeError("no backend")
        self.saved[(service, name)] = value


def test_the_keyring_gives_the_passphrase_and_a_broken_one_is_skipped(
    encrypted_env, tmp_path, monkeypatch
):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    ring = _Keyring()
    monkeypatch.setitem(sys.modules, "keyring", ring)
    monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", PASS2)
    result = _cli("--db", db, "rekey", "--keyring")
    assert result.exit_code == 0 and ring.saved == {("visitlog", str(db.resolve())): PASS2}
    cipher.forget()
    monkeypatch.delenv(cipher.PASSPHRASE_ENV)
    with Store(db) as store:
        assert [h.head for h in store.list_households()] == [NAME]
    cipher.forget()
    monkeypatch.setitem(sys.modules, "keyring", _Keyring(broken=True))
    with pytest.raises(LockedError):
        Store(db)


def test_a_key_derived_ahead_is_used_once(encrypted_env, tmp_path, monkeypatch):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    cipher.forget()
    calls = []
    real = cipher.derive
    monkeypatch.setattr(cipher, "derive", lambda p, s: calls.append(p) or real(p, s))
    cipher.prefetch(db)
    cipher.prefetch(db)  # already under way: not twice
    with Store(db) as store:
        assert store.list_households()[0].head == NAME
    assert calls == [PASS]
    # Derived ahead from a passphrase that turns out wrong: refused all the same.
    cipher.forget()
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, "not the passphrase")
    cipher.prefetch(db)
    with pytest.raises(WrongKeyError):
        Store(db)


def test_a_report_never_replaces_an_encrypted_database(encrypted_env, tmp_path: Path):
    db = tmp_path / "visitlog.db"
    with Store(db) as store:
        _fill(store)
    before = _digest(db)
    with pytest.raises(VisitlogError, match="覆盖"):
        files.write_private(db, "报告")
    assert _digest(db) == before
    # Text and zip files of whole pages are no database: replaced as usual.
    text = tmp_path / "汇总.csv"
    text.write_text("微网格,户数\n" + "一网格,1\n" * 1000, encoding="utf-8")
    text.write_bytes(text.read_bytes()[:4096])
    sheet = tmp_path / "汇总.xlsx"
    sheet.write_bytes(b"PK\x03\x04" + os.urandom(8188))
    for path in (text, sheet):
        files.write_private(path, "新的报告")
        assert path.read_text(encoding="utf-8") == "新的报告"
