"""A new hub is made only when asked: a missing hub is an error naming the path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from visitlog.cli import app


def _run(db: Path, *args: str):
    return CliRunner().invoke(app, ["--db", str(db), *map(str, args)])


@pytest.fixture
def laptop(tmp_path: Path) -> Path:
    db = tmp_path / "laptop.db"
    assert (
        _run(db, "household", "add", "--address", "曹杨一村1号101室", "--grid", "一网格").exit_code
        == 0
    )
    return db


def _refused(result, path: Path) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.stderr.replace("\n", "")
    assert line.startswith("错误：")
    assert str(path) in line and "--new-hub" in line


def test_sync_to_a_missing_hub_is_an_error_naming_the_path(laptop, tmp_path):
    hub = tmp_path / "hub.db"
    _refused(_run(laptop, "sync", hub), hub)
    assert not hub.exists()
    _refused(_run(laptop, "sync", hub, "--dry-run"), hub)
    assert not hub.exists()
    english = _run(laptop, "--lang", "en", "sync", hub)
    assert english.exit_code == 1 and "add --new-hub" in english.stderr.replace("\n", "")


def test_sync_into_an_empty_folder_an_unmounted_share_makes_no_hub(laptop, tmp_path):
    share = tmp_path / "mnt" / "office-share"
    share.mkdir(parents=True)  # the mount point is there, the share is not mounted
    hub = share / "hub.db"
    _refused(_run(laptop, "sync", hub), hub)
    assert list(share.iterdir()) == []


def test_an_empty_file_is_no_hub_and_stays_empty(laptop, tmp_path):
    hub = tmp_path / "hub.db"
    hub.write_bytes(b"")
    _refused(_run(laptop, "sync", hub), hub)
    assert hub.read_bytes() == b""


def test_new_hub_makes_it_and_later_syncs_need_no_flag(laptop, tmp_path):
    hub = tmp_path / "hub.db"
    made = _run(laptop, "sync", hub, "--new-hub", "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["sent"] == 1
    assert hub.stat().st_size > 0
    again = _run(laptop, "sync", hub, "--json")
    assert again.exit_code == 0, again.output
    other = tmp_path / "other.db"
    got = _run(other, "sync", hub, "--json")
    assert got.exit_code == 0 and json.loads(got.stdout)["received"] == 1


def test_the_library_makes_a_hub_only_when_told(laptop, tmp_path):
    from visitlog.model import VisitlogError
    from visitlog.store import Store
    from visitlog.sync import sync_with

    hub = tmp_path / "hub.db"
    with Store(laptop) as s:
        with pytest.raises(VisitlogError, match="--new-hub"):
            sync_with(s, hub, create=False)
        assert not hub.exists()
        assert sync_with(s, hub, create=True).sent_total == 1
