"""Files written for people: whole or not at all, owner-only."""

from __future__ import annotations

import os

import pytest

from visitlog.model import VisitlogError
from visitlog.store.files import replacing, write_private


def test_write_private_is_owner_only_even_with_a_loose_umask(tmp_path):
    old = os.umask(0)
    try:
        path = write_private(tmp_path / "report.csv", "名单\n")
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8") == "名单\n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    dest = tmp_path / "week.html"
    dest.write_text("上周的报告", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(dest) as tmp:
        tmp.write_text("写了一半", encoding="utf-8")
        raise RuntimeError("unplugged")
    assert dest.read_text(encoding="utf-8") == "上周的报告"
    assert [p.name for p in tmp_path.iterdir()] == ["week.html"]


def test_missing_folder_is_one_plain_error(tmp_path):
    with pytest.raises(VisitlogError, match="无法写入"):
        write_private(tmp_path / "no-such-folder" / "x.csv", b"x")
