"""The sync commands end to end through the CLI: three laptops and a hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rawdb
from station import hold_key
from typer.testing import CliRunner

from visitlog.cli import app


class Laptop:
    def __init__(self, db: Path):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, input: str | None = None):
        result = self.runner.invoke(app, ["--db", str(self.db), *map(str, args)], input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def office(tmp_path: Path):
    laptops = [Laptop(tmp_path / f"laptop{i}.db") for i in range(3)]
    for i, lp in enumerate(laptops):
        lp("init", "--worker", f"社工{i}", "--device", f"laptop-{i}")
    # one station: the first laptop makes the key, the others import its line
    laptops[0]("key", "init")
    line = laptops[0]("key", "show").stdout.strip()
    for lp in laptops[1:]:
        lp("key", "import", "-", input=line)
    return laptops, tmp_path / "hub" / "hub.db"


def visits_of(lp: Laptop) -> dict[str, dict]:
    return {v["id"]: v for v in lp.json("visit", "list")}


def test_done_when_three_laptops_and_a_hub(office):
    (l0, l1, l2), hub = office
    hub.parent.mkdir()
    hid = l0("household", "add", "--address", "曹杨一村3号201室", "--grid", "一网格").stdout.strip()
    assert l0.json("sync", hub, "--new-hub")["sent"] == 1  # the household
    for lp in (l1, l2):
        assert lp.json("sync", hub)["received"] >= 1
    ids = {}
    for i, lp in enumerate((l0, l1, l2)):
        ids[i] = lp(
            "visit",
            "add",
            "--household",
            hid,
            "--date",
            "2026-11-0" + str(i + 1),
            "--summary",
            f"第{i}台的走访",
        ).stdout.strip()
    shared, doomed = ids[0], ids[2]
    for lp in (l0, l1, l2, l0, l1, l2):
        lp("sync", hub)
    # different fields on two laptops, the same field on two laptops, a delete
    l1("visit", "edit", shared, "--outcome", "不在家")
    l2("visit", "edit", shared, "--mode", "电话")
    l0("visit", "edit", shared, "--summary", "社工0改的摘要")
    l1("visit", "edit", shared, "--summary", "社工1改的摘要")
    l2("visit", "delete", doomed)
    first_round = [lp.json("sync", hub) for lp in (l2, l0, l1, l0, l2)]
    assert sum(r["conflicts"] for r in first_round) >= 1
    listed = [visits_of(lp) for lp in (l0, l1, l2)]
    assert listed[0] == listed[1] == listed[2]
    assert doomed not in listed[0] and set(listed[0]) == {ids[0], ids[1]}
    v = listed[0][shared]
    assert (v["outcome"], v["mode"]) == ("不在家", "电话")
    assert v["summary"] in ("社工0改的摘要", "社工1改的摘要")
    loser = ({"社工0改的摘要", "社工1改的摘要"} - {v["summary"]}).pop()
    for lp in (l0, l1, l2):
        (conflict,) = lp.json("conflicts")
        assert (conflict["row_id"], conflict["field"]) == (shared, "summary")
        assert (conflict["value"], conflict["current_value"]) == (loser, v["summary"])
    # a second round moves nothing
    for lp in (l0, l1, l2):
        again = lp.json("sync", hub)
        assert (again["sent"], again["received"], again["conflicts"]) == (0, 0, 0)
    # a bundle altered by one byte is refused
    bundle = hub.parent / "l0.vlb"
    l0("bundle", "export", bundle)
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    refused = l2("bundle", "import", bundle, ok=False)
    assert refused.exit_code == 1 and "未导入任何内容" in refused.output
    assert "Traceback" not in refused.output


def test_text_output_dry_run_and_restore(office):
    (l0, l1, _), hub = office
    hub.parent.mkdir()
    hid = l0(
        "household", "add", "--address", "枣阳路100弄5号602室", "--grid", "二网格"
    ).stdout.strip()
    vid = l0("visit", "add", "--household", hid, "--summary", "原来的").stdout.strip()
    dry = l0("sync", hub, "--new-hub", "--dry-run")
    assert "试运行" in dry.stdout and not hub.exists()
    out = l0("sync", hub, "--new-hub").stdout
    assert "已与" in out and "走访记录" in out and "合计" in out
    l1("sync", hub)
    l0("visit", "edit", vid, "--summary", "零号的")
    l1("visit", "edit", vid, "--summary", "一号的")
    l0("sync", hub)
    text = l1("sync", hub).stdout
    assert "冲突" in text and "conflicts restore" in text
    table = l1("conflicts").stdout
    assert "民情摘要" in table
    audits = len(l1.json("audit", "list"))
    l1("conflicts", "--reveal")
    assert len(l1.json("audit", "list")) == audits + 1
    (c,) = l1.json("conflicts")
    restored = l1.json("conflicts", "restore", c["id"][:8], "--yes")
    assert restored["restored"] is True and restored["changed"] is True
    assert l1.json("visit", "list")[0]["summary"] == c["value"]
    assert "没有待处理的冲突" in l1("conflicts").stdout
    assert l1.json("conflicts", "--all")[0]["resolved"] is True
    l1("sync", hub)
    l0("sync", hub)
    assert l0.json("visit", "list")[0]["summary"] == c["value"]
    assert l0.json("conflicts") == []
    assert "没有要交换" in l0("sync", hub).stdout
    en = l0("--lang", "en", "sync", hub).stdout
    assert "nothing to exchange" in en


def test_bundle_commands_round_trip(office):
    (l0, l1, _), hub = office
    hub.parent.mkdir()
    hid = l0("household", "add", "--address", "兰溪路1弄2号", "--grid", "三网格").stdout.strip()
    l0("sync", hub, "--new-hub")
    l0("visit", "add", "--household", hid, "--summary", "U盘带过去的")
    stick = hub.parent / "to-hub.vlb"
    info = l0.json("bundle", "export", stick, "--for", hub)
    assert info["changes"] == 1 and info["by_table"]["visits"] == 1
    hub_cli = Laptop(hub)
    hub_cli("key", "import", "-", input=l0("key", "show").stdout.strip())
    assert hub_cli.json("bundle", "import", stick)["received"] == 1
    full = hub.parent / "full.vlb"
    hub_cli("bundle", "export", full)
    assert l1.json("bundle", "import", full)["received"] == 2
    assert [v["summary"] for v in l1.json("visit", "list")] == ["U盘带过去的"]
    assert l1.json("bundle", "import", full)["received"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sync", "{db}"), "不能和自己同步"),
        (("sync", "{tmp}/no/such/dir/hub.db"), "不存在"),
        (("sync", "{tmp}"), "文件夹"),
        (("bundle", "import", "{tmp}/none.vlb"), "不存在"),
        (("bundle", "import", "{db}"), "是正在使用的 visitlog 数据库"),
        (("bundle", "import", "{db}-wal"), "工作文件"),
        (("bundle", "import", "{tmp}/other.db"), "是数据库文件"),
        (("bundle", "export", "{tmp}/x.vlb", "--for", "nobody"), "不认识"),
        (("conflicts", "restore", "abcd"), "找不到冲突"),
        (("conflicts", "restore", "ab"), "找不到冲突"),
    ],
)
def test_bad_input_is_one_plain_line(tmp_path, args, message):
    l0 = Laptop(tmp_path / "laptop.db")
    l0("check")  # the database exists (and its -wal beside it)
    hold_key(l0.db)
    Laptop(tmp_path / "other.db")("check")
    argv = [a.format(db=l0.db, tmp=tmp_path) for a in args]
    result = l0(*argv, ok=False)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_refused_sync_with_newer_hub_says_which_version(office):

    (l0, _, _), hub = office
    hub.parent.mkdir()
    l0("sync", hub, "--new-hub")
    conn = rawdb.connect(hub)
    conn.execute("UPDATE settings SET value = '42' WHERE key = 'schema_version'")
    conn.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('schema_release', '2.0.0')")
    conn.commit()
    conn.close()
    result = l0("sync", hub, ok=False)
    assert result.exit_code == 1 and "2.0.0" in result.output


def test_older_hub_needs_upgrade_flag(office):

    (l0, _, _), hub = office
    hub.parent.mkdir()
    l0("sync", hub, "--new-hub")
    conn = rawdb.connect(hub)
    conn.execute("DROP TABLE peers")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm003_sync'")
    conn.commit()
    conn.close()
    refused = l0("sync", hub, ok=False)
    assert refused.exit_code == 1 and "--upgrade-target" in refused.output
    done = l0.json("sync", hub, "--upgrade-target")
    assert done["schema_upgraded"] is True


def test_restore_asks_first_keeps_the_replaced_value_and_can_be_taken_back(office):
    (l0, l1, _), hub = office
    hub.parent.mkdir()
    hid = l0("household", "add", "--address", "兰溪路9弄9号101室", "--grid", "四网格")
    hid = hid.stdout.strip()
    l0("sync", hub, "--new-hub")
    l1("sync", hub)
    l0("household", "add", "--address", "兰溪路9弄9号102室", "--grid", "四网格")
    vid = l0("visit", "add", "--household", hid, "--summary", "零号看过").stdout.strip()
    l0("sync", hub)
    l1("sync", hub)
    l0("visit", "edit", vid, "--summary", "零号写的")
    l1("visit", "edit", vid, "--summary", "一号写的")
    l0("sync", hub)
    l1("sync", hub)  # l1's edit is later: it wins, l0's value is the conflict
    (c,) = l1.json("conflicts")
    assert (c["value"], c["current_value"]) == ("零号写的", "一号写的")
    # who made the losing value: worker and device (the device's name when known)
    table = l1("conflicts").stdout
    assert "社工0" in table and "民情摘要" in table and "summary" not in table
    # the hub knows every laptop that synced with it, by worker and device name
    [on_hub] = Laptop(hub).json("conflicts")
    assert (on_hub["worker"], on_hub["device_name"]) == ("社工0", "laptop-0")
    assert (on_hub["winner_worker"], on_hub["winner_device_name"]) == ("社工1", "laptop-1")

    # asked first; "no" (the default) changes nothing
    answer_no = l1("conflicts", "restore", c["id"][:8], input="\n")
    assert "一号写的" in answer_no.stderr and "零号写的" in answer_no.stderr
    assert "没有恢复" in answer_no.stderr
    assert l1.json("visit", "list")[-1]["summary"] == "一号写的"

    out = l1("conflicts", "restore", c["id"][:8], input="y\n").stdout
    assert "零号写的" in out and "一号写的" in out
    assert l1.json("visit", "list")[-1]["summary"] == "零号写的"
    # the value it replaced stays in the record, which says it was restored
    [rec] = l1.json("conflicts", "--all")
    assert rec["restored"] is True and rec["winner_value"] == "一号写的"
    assert "已恢复" in l1("conflicts", "--all").stdout

    # restoring it again brings the replaced value back, and once more the other
    back = l1.json("conflicts", "restore", c["id"][:8], "--yes")
    assert back["restored"] is False and back["replaced_value"] == "零号写的"
    assert l1.json("visit", "list")[-1]["summary"] == "一号写的"
    again = l1.json("conflicts", "restore", c["id"][:8], "--yes")
    assert again["restored"] is True and again["current_value"] == "零号写的"
    assert l1.json("conflicts") == []  # handled: nothing waits for review

    # the last restore travels; both laptops end with the same value and no new conflict
    l1("sync", hub)
    l0("sync", hub)
    assert l0.json("visit", "list")[-1]["summary"] == "零号写的"
    assert l0.json("conflicts") == [] and l1.json("conflicts") == []
