"""Edges of the command line a worker meets: pipes, audited reveals, unwritable folders."""

from __future__ import annotations

import subprocess
import sys

from visitlog.store import Store


def test_output_piped_into_head_is_not_an_error(demo_db):
    proc = subprocess.Popen(
        [sys.executable, "-m", "visitlog", "--db", str(demo_db), "visit", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.read(64)
    proc.stdout.close()  # what `| head` does once it has its lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "BrokenPipe" not in err and "内部出错" not in err


def test_dedup_reveal_is_audited(demo_cli):
    result = demo_cli("dedup", "households", "--reveal")
    assert result.exit_code == 0, result.output
    actions = [e["action"] for e in Store(demo_cli.db).audit_entries()]
    assert "dedup.reveal" in actions


def test_rejects_go_to_the_data_folder_when_the_roster_folder_is_unwritable(
    cli, tmp_path, monkeypatch
):
    from visitlog.roster import importing

    src = tmp_path / "名册.csv"
    src.write_text(
        "地址,微网格,联系电话\n曹杨一村1号101室,1号网格,13812345678\n,1号网格,123\n",
        encoding="utf-8",
    )
    # The folder beside the roster cannot be written (a write-protected stick).
    monkeypatch.setattr(importing, "rejects_path_for", lambda p: tmp_path / "no-such-dir" / "x.csv")
    result = cli("roster", "import", str(src))
    assert result.exit_code == 1  # a row was rejected, and said so
    assert [h["address"] for h in cli.json("household", "list")] == ["曹杨一村1号101室"]
    from pathlib import Path

    import platformdirs

    fallback = (
        Path(platformdirs.user_data_dir("visitlog", appauthor=False))
        / "rejects"
        / "名册.csv.rejects.csv"
    )
    assert fallback.exists()
    assert "123" in fallback.read_text(encoding="utf-8-sig")
