"""Fuzzing the two readers of outside files: rosters and bundles.

Random bytes and valid files with bytes flipped, cut, inserted or removed
go through the real CLI.  Every input must end in success, a rejects
report, or one plain error line with exit 1 — never a traceback, never an
"internal error" — and a refused file must leave the database as it was.

``VISITLOG_FUZZ_EXAMPLES`` sets the examples per test (default 100).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import ROSTER_HEADER, content_digest, live_counts, write_roster
from typer.testing import CliRunner

from visitlog.store import StationKey, Store, save_key

EXAMPLES = int(os.environ.get("VISITLOG_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _run(db: Path, *args: str):
    from visitlog.cli import app

    return CliRunner().invoke(app, ["--db", str(db), *args])


def _assert_clean(result) -> None:
    """Success, or exit 1 with plain lines: no traceback, no internal error."""
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert "内部出错" not in result.output, result.output


@st.composite
def mutated(draw, original: bytes) -> bytes:
    """``original`` with 1–4 bytes flipped, cut, inserted or removed."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        if not data:
            op = "insert"
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at : at + draw(st.integers(1, 16))]
    return bytes(data)


# -- fixtures: templates made once -----------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def empty_db(fuzz_dir) -> Path:
    path = fuzz_dir / "empty.db"
    s = Store(path)
    s.init_identity("陈静", "laptop-2")
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


@pytest.fixture(scope="module")
def small_street(fuzz_dir) -> Path:
    """A small database with a few households, visits and items."""
    from visitlog.demo import generate_into

    path = fuzz_dir / "street.db"
    s = Store(path)
    s.init_identity("王丽华", "laptop-1")
    generate_into(s, households=6, seed=3)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


@pytest.fixture(scope="module")
def roster_files(fuzz_dir) -> dict[str, bytes]:
    csv_path = write_roster(fuzz_dir / "r.csv", 12, "FZ")
    text = csv_path.read_text(encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ROSTER_HEADER)
    for line in text.splitlines()[1:]:
        ws.append(line.split(","))
    xlsx = fuzz_dir / "r.xlsx"
    wb.save(xlsx)
    return {
        ".csv": csv_path.read_bytes(),
        "gbk.csv": text.encode("gbk"),
        ".xlsx": xlsx.read_bytes(),
    }


class _Scratch:
    """A fresh copy of a template database per example (examples share the fixture)."""

    def __init__(self, template: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="fuzz-"))
        self.db = self.dir / "visitlog.db"
        shutil.copyfile(template, self.db)

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# -- roster reader ------------------------------------------------------------------------------


def _check_roster_import(template: Path, name: str, data: bytes) -> None:
    with _Scratch(template) as scratch:
        file = scratch.dir / name
        file.write_bytes(data)
        before = content_digest(scratch.db)
        households = _households(scratch.db)
        result = _run(scratch.db, "roster", "import", str(file), "--json")
        _assert_clean(result)
        if result.stdout.strip():
            # imported (maybe with rejects): exactly what the report says went in
            report = json.loads(result.stdout)
            assert _households(scratch.db) == households + report["imported"]
            with Store(scratch.db) as s:
                assert s.check() == []
        else:
            # refused: one plain line, nothing changed
            lines = [x for x in result.stderr.splitlines() if x.strip()]
            assert result.exit_code == 1 and len(lines) == 1, result.stderr
            assert content_digest(scratch.db) == before


def _households(db: Path) -> int:
    return live_counts(db)["households"]


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_roster_mutated(data, small_street, roster_files):
    kind = data.draw(st.sampled_from(sorted(roster_files)))
    blob = data.draw(mutated(roster_files[kind]))
    name = "roster.xlsx" if kind == ".xlsx" else "roster.csv"
    _check_roster_import(small_street, name, blob)


@pytest.mark.slow
@FUZZ
@given(blob=st.binary(max_size=4000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_fuzz_roster_random_bytes(blob, suffix, small_street):
    _check_roster_import(small_street, "roster" + suffix, blob)


# -- bundle reader -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(fuzz_dir, small_street) -> dict[str, bytes]:
    """A plain bundle (unsigned, as earlier versions wrote them) and an
    encrypted, signed bundle of the small street."""
    from station import old_bundle

    from visitlog.sync import export_bundle

    out = {"plain": old_bundle("plain", fuzz_dir / "plain.bundle").read_bytes()}
    signed_db = fuzz_dir / "signed.db"
    shutil.copyfile(small_street, signed_db)
    key = StationKey.generate()
    save_key(signed_db, key)
    with Store(signed_db) as s:
        export_bundle(s, fuzz_dir / "signed.bundle")
    out["signed"] = (fuzz_dir / "signed.bundle").read_bytes()
    out["key"] = key.to_line().encode()
    return out


def _check_bundle_import(template: Path, data: bytes, key_line: bytes | None) -> bool:
    """Import ``data`` into a fresh replica; returns whether it was accepted."""
    with _Scratch(template) as scratch:
        if key_line:
            save_key(scratch.db, StationKey.from_line(key_line.decode()))
        file = scratch.dir / "in.bundle"
        file.write_bytes(data)
        before = content_digest(scratch.db)
        result = _run(scratch.db, "bundle", "import", str(file))
        _assert_clean(result)
        if result.exit_code == 1:
            lines = [x for x in result.stderr.splitlines() if x.strip()]
            assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
            assert content_digest(scratch.db) == before
        else:
            with Store(scratch.db) as s:
                assert s.check() == []
        return result.exit_code == 0


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_fuzz_bundle_mutated(data, bundles, empty_db):
    signed = data.draw(st.booleans())
    original = bundles["signed" if signed else "plain"]
    blob = data.draw(mutated(original))
    accepted = _check_bundle_import(empty_db, blob, bundles["key"] if signed else None)
    if signed and blob != original:
        # a keyed replica takes only the exact bytes its key signed
        assert not accepted


@pytest.mark.slow
@FUZZ
@given(
    blob=st.binary(max_size=4000),
    prefix=st.sampled_from([b"", b"VISITLOG-BUNDLE 1\n", b"VISITLOG-BUNDLE 2\n"]),
)
def test_fuzz_bundle_random_bytes(blob, prefix, empty_db):
    assert not _check_bundle_import(empty_db, prefix + blob, None)


def test_the_unmutated_files_go_in(small_street, roster_files, bundles, empty_db):
    """The fuzzers start from files that are accepted as they are."""
    for kind, data in roster_files.items():
        with _Scratch(small_street) as scratch:
            file = scratch.dir / ("r.xlsx" if kind == ".xlsx" else "r.csv")
            file.write_bytes(data)
            r = _run(scratch.db, "roster", "import", str(file))
            assert r.exit_code == 0, (kind, r.output)
    assert _check_bundle_import(empty_db, bundles["plain"], None)
    assert _check_bundle_import(empty_db, bundles["signed"], bundles["key"])
