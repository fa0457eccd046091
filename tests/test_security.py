"""Station keys (key init/show/import), signing helpers and the audit trail commands."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import rawdb

from visitlog.model import VisitlogError
from visitlog.security import sign, verify
from visitlog.store import KeyFileError, StationKey, Store, key_path, load_key, save_key


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _fails_cleanly(result, *needles: str) -> None:
    """Exit 1, one plain error line on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert lines and lines[0].startswith(("错误：", "Error: ")), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# -- key lines ------------------------------------------------------------------------------


def test_key_line_round_trips_and_is_one_line():
    key = StationKey.generate()
    line = key.to_line()
    assert "\n" not in line and line.startswith("visitlog-key:v1:")
    assert StationKey.from_line(line) == key
    # mail programs wrap and indent long lines
    wrapped = f"  {line[:30]}\n   {line[30:]}\r\n"
    assert StationKey.from_line(wrapped) == key


def test_two_generated_keys_differ_and_fingerprints_hide_the_secret():
    a, b = StationKey.generate(), StationKey.generate()
    assert a != b and a.fingerprint != b.fingerprint
    assert len(a.fingerprint) == 16
    assert a.secret.hex()[:16] != a.fingerprint
    assert a.to_line() not in repr(a)


@pytest.mark.parametrize(
    ("mangle", "fragment"),
    [
        (lambda s: "", "空"),
        (lambda s: "hello world", "不是 visitlog 站点密钥"),
        (lambda s: s.replace(":v1:", ":v2:"), "更新版本"),
        (lambda s: s[:-12] + s[-11:], "格式不对"),  # one character lost
        (lambda s: s[:20] + ("A" if s[20] != "A" else "B") + s[21:], "校验不符"),
        (lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), "校验不符"),
        (lambda s: s + "xyz", "格式不对"),
    ],
)
def test_mangled_key_lines_are_refused_with_a_reason(mangle, fragment):
    line = StationKey.generate().to_line()
    with pytest.raises(KeyFileError) as err:
        StationKey.from_line(mangle(line))
    assert fragment in str(err.value)


def test_key_line_with_nonzero_padding_bits_is_refused():
    """Two different lines must never read as the same key."""
    import hashlib

    key = StationKey(bytes(32))
    body = base64.urlsafe_b64encode(key.secret).rstrip(b"=").decode()
    other = body[:-1] + "B"  # same 32 bytes once decoded, different text
    check = hashlib.sha256(f"visitlog-key:v1:{other}".encode()).hexdigest()[:8]
    with pytest.raises(KeyFileError):
        StationKey.from_line(f"visitlog-key:v1:{other}:{check}")


def test_sign_and_verify():
    key, other = StationKey.generate(), StationKey.generate()
    sig = sign(b"content", key)
    assert len(sig) == 64 and verify(b"content", sig, key)
    assert not verify(b"content!", sig, key)
    assert not verify(b"content", sig, other)
    assert not verify(b"content", None, key)
    assert sign(b"content", key) != sign(b"content", other)


# -- the key file ---------------------------------------------------------------------------


def test_key_file_is_owner_only_beside_the_database(tmp_path):
    db = tmp_path / "data" / "visitlog.db"
    key = StationKey.generate()
    path = save_key(db, key)
    assert path == key_path(db) == tmp_path / "data" / "visitlog.db.key"
    assert _mode(path) == 0o600
    assert load_key(db) == key
    assert not list(path.parent.glob(".*tmp"))


def test_loosened_key_file_is_tightened_on_load(tmp_path):
    db = tmp_path / "visitlog.db"
    path = save_key(db, StationKey.generate())
    os.chmod(path, 0o644)
    assert load_key(db) is not None
    assert _mode(path) == 0o600


def test_damaged_key_file_is_reported(tmp_path):
    db = tmp_path / "visitlog.db"
    key_path(db).write_text("visitlog-key:v1:garbage:00000000\n")
    with pytest.raises(VisitlogError) as err:
        load_key(db)
    assert "visitlog.db.key" in str(err.value) and "损坏" in str(err.value)


def test_no_key_file_means_no_key(tmp_path):
    assert load_key(tmp_path / "visitlog.db") is None


# -- key commands ---------------------------------------------------------------------------


def test_key_init_show_import_carries_the_key_to_another_laptop(cli, tmp_path):
    made = cli.json("key", "init")
    assert _mode(made["path"]) == 0o600
    shown = cli("key", "show")
    assert shown.exit_code == 0, shown.output
    line = shown.stdout.strip()
    assert line.count("\n") == 0 and line.startswith("visitlog-key:v1:")
    carried = tmp_path / "carried.txt"
    carried.write_text(line + "\n")

    other = type(cli)(tmp_path / "laptop2.db")
    result = other.json("key", "import", str(carried))
    assert result["changed"] is True and result["fingerprint"] == made["fingerprint"]
    assert _mode(tmp_path / "laptop2.db.key") == 0o600
    assert load_key(tmp_path / "laptop2.db") == load_key(cli.db)
    # importing it again changes nothing
    assert other.json("key", "import", str(carried))["changed"] is False


def test_key_import_from_stdin(cli, tmp_path):
    key = StationKey.generate()
    r = cli("key", "import", "-", input=key.to_line() + "\n")
    assert r.exit_code == 0, r.output
    assert load_key(cli.db) == key


def test_key_import_refuses_a_mangled_line_and_keeps_nothing(cli, tmp_path):
    line = StationKey.generate().to_line()
    bad = tmp_path / "bad.txt"
    bad.write_text(line[:25] + line[26:])
    _fails_cleanly(cli("key", "import", str(bad)), "格式不对")
    assert not key_path(cli.db).exists()
    _fails_cleanly(
        cli("--lang", "en", "key", "import", str(tmp_path / "none.txt")), "does not exist"
    )
    _fails_cleanly(cli("key", "import", str(tmp_path)), "文件夹")


def test_key_init_refuses_to_replace_a_key_without_force(cli):
    first = cli.json("key", "init")
    r = cli("key", "init")
    _fails_cleanly(r, first["fingerprint"], "--force")
    assert load_key(cli.db).fingerprint == first["fingerprint"]
    second = cli.json("key", "init", "--force")
    assert second["fingerprint"] != first["fingerprint"]
    assert load_key(cli.db).fingerprint == second["fingerprint"]


def test_key_import_refuses_another_key_without_force(cli, tmp_path):
    cli("key", "init")
    before = load_key(cli.db)
    other = StationKey.generate()
    _fails_cleanly(cli("key", "import", "-", input=other.to_line()), before.fingerprint)
    assert load_key(cli.db) == before
    assert cli("key", "import", "-", "--force", input=other.to_line()).exit_code == 0
    assert load_key(cli.db) == other


def test_key_show_without_a_key_says_what_to_do(cli):
    _fails_cleanly(cli("key", "show"), "key init", "key import")


def test_key_operations_are_audited_without_the_secret(cli):
    cli("key", "init")
    cli("key", "show")
    key = load_key(cli.db)
    entries = cli.json("audit", "list")
    actions = [e["action"] for e in entries]
    assert actions[:2] == ["key.show", "key.init"]
    assert all(e["detail"]["fingerprint"] == key.fingerprint for e in entries[:2])
    db_bytes = b"".join(
        repr(row).encode() for row in rawdb.connect(cli.db).execute("SELECT * FROM audit")
    )
    assert key.to_line().split(":")[2].encode() not in db_bytes


# -- audit ----------------------------------------------------------------------------------


def _tamper(db, sql: str, params=()) -> None:
    """Edit the audit table behind visitlog's back (the triggers must go first)."""
    conn = rawdb.connect(db)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def _entries(db) -> list[tuple]:
    conn = rawdb.connect(db)
    rows = conn.execute("SELECT id, at, action FROM audit ORDER BY id").fetchall()
    conn.close()
    return rows


@pytest.fixture
def trail_cli(demo_cli):
    """The demo street with a dozen audited operations of several kinds."""
    from visitlog.model import Visit

    s = Store(demo_cli.db)
    hids = [h.id for h in s.list_households()[:4]]
    for i in range(12):
        v = s.add_visit(Visit(household_id=hids[i % 4], visit_date="2026-11-20", visitor="陈静"))
        if i % 3 == 0:
            s.edit_visit(v.id, summary=f"第{i}次")
    s.close()
    return demo_cli


def test_audit_verify_passes_on_an_untouched_trail(trail_cli):
    demo_cli = trail_cli
    r = demo_cli("audit", "verify")
    assert r.exit_code == 0, r.output
    assert "完整" in r.stdout
    data = demo_cli.json("audit", "verify")
    assert data["ok"] is True and data["broken"] is None and data["entries"] > 10


def test_editing_one_audit_row_makes_verify_fail_and_name_it(trail_cli):
    demo_cli = trail_cli
    target = _entries(demo_cli.db)[5]
    _tamper(demo_cli.db, "UPDATE audit SET worker = '别人' WHERE id = ?", [target[0]])
    r = demo_cli("audit", "verify")
    _fails_cleanly(r, f"第 {target[0]} 条", target[1], target[2])
    r = demo_cli("--lang", "en", "audit", "verify", "--json")
    assert r.exit_code == 1
    broken = json.loads(r.stdout)["broken"]
    assert (broken["id"], broken["at"], broken["action"]) == target
    assert broken["removed"] is False
    # check reports it too
    assert demo_cli("check").exit_code == 1


def test_a_recomputed_hash_alone_does_not_hide_an_edit(trail_cli):
    demo_cli = trail_cli
    """Editing a row and its own hash still breaks the next link."""
    import hashlib

    rows = _entries(demo_cli.db)
    target = rows[3][0]
    _tamper(
        demo_cli.db,
        "UPDATE audit SET action = 'visit.nothing', hash = ? WHERE id = ?",
        [hashlib.sha256(b"forged").hexdigest(), target],
    )
    r = demo_cli("audit", "verify", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["broken"]["id"] == target


def test_removing_an_audit_row_is_named(trail_cli):
    demo_cli = trail_cli
    rows = _entries(demo_cli.db)
    gone, before = rows[7], rows[6]
    _tamper(demo_cli.db, "DELETE FROM audit WHERE id = ?", [gone[0]])
    r = demo_cli("audit", "verify")
    _fails_cleanly(r, f"第 {gone[0]} 条不见了", f"第 {before[0]} 条", before[2])


def test_removing_the_newest_audit_rows_is_detected(trail_cli):
    demo_cli = trail_cli
    rows = _entries(demo_cli.db)
    _tamper(demo_cli.db, "DELETE FROM audit WHERE id >= ?", [rows[-2][0]])
    r = demo_cli("audit", "verify", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["broken"]["id"] == rows[-2][0]


def test_removing_the_first_audit_row_is_detected(trail_cli):
    demo_cli = trail_cli
    _tamper(demo_cli.db, "DELETE FROM audit WHERE id = 1")
    _fails_cleanly(demo_cli("audit", "verify"), "第 1 条")


def test_audit_list_shows_who_changed_what_and_every_reveal(demo_cli):
    households = demo_cli.json("household", "list")
    r = demo_cli("visit", "add", "--household", households[0]["id"], "--summary", "看望")
    assert r.exit_code == 0, r.output
    vid = r.stdout.strip()
    assert demo_cli("summary", "--reveal").exit_code == 0
    assert demo_cli("household", "list", "--reveal").exit_code == 0
    entries = demo_cli.json("audit", "list")
    assert [e["action"] for e in entries[:3]] == [
        "household.reveal",
        "summary.reveal",
        "visit.add",
    ]
    add = entries[2]
    assert add["row_id"] == vid and add["tbl"] == "visits" and add["worker"] == "王丽华"
    assert entries[1]["detail"]["worker"] == "王丽华"
    for key in ("id", "at", "worker", "device", "action", "tbl", "row_id", "detail"):
        assert key in add
    reveals = demo_cli.json("audit", "list", "--action", "summary.reveal")
    assert [e["action"] for e in reveals] == ["summary.reveal"]
    # a prefix picks a whole family, and never a longer unrelated name
    assert {e["action"] for e in demo_cli.json("audit", "list", "--action", "visit")} == {
        "visit.add"
    }
    table = demo_cli("audit", "list", "--limit", "3")
    assert table.exit_code == 0
    assert "summary.reveal" in table.stdout and "household.reveal" in table.stdout
    assert "roster.import" not in table.stdout
    assert len(demo_cli.json("audit", "list", "--limit", "2")) == 2


def test_audit_list_on_an_empty_database(cli):
    r = cli("audit", "list")
    assert r.exit_code == 0 and "还没有审计记录" in r.stdout
    assert cli.json("audit", "list") == []
    assert cli("audit", "verify").exit_code == 0


def test_masked_household_list_is_not_audited_as_a_reveal(demo_cli):
    before = len(demo_cli.json("audit", "list"))
    assert demo_cli("household", "list").exit_code == 0
    assert len(demo_cli.json("audit", "list")) == before


def test_store_verify_audit_after_reopen(demo_db):
    s = Store(demo_db)
    assert s.verify_audit() is None
    s.close()
