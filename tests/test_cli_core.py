"""Core commands through the CLI, including every error path a user can hit."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
import rawdb

from visitlog.store import Store


def _digest(path) -> str:
    """Content digest of the synced tables and audit (file bytes change on checkpoints)."""
    conn = rawdb.connect(path)
    h = hashlib.sha256()
    for table in ("households", "visits", "items", "changes", "audit", "settings"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            h.update(repr(row).encode())
    conn.close()
    return h.hexdigest()


def test_init_sets_identity(cli):
    info = cli.json("init", "--worker", "王丽华", "--device", "笔记本1", "--grid", "1号网格")
    assert info["worker"] == "王丽华" and len(info["device_id"]) == 12
    store = Store(cli.db)
    assert store.settings()["default_grid"] == "1号网格"


def test_household_add_and_list(cli):
    hid = cli(
        "household",
        "add",
        "--address",
        "曹杨一村１２号３０１室",
        "--grid",
        "1号网格",
        "--head",
        "张伟",
        "--phone",
        "138 1234 5678",
        "--tags",
        "独居老人、高龄",
    ).stdout.strip()
    data = cli.json("household", "list")
    assert [h["id"] for h in data] == [hid]
    h = data[0]
    for key in (
        "id",
        "ref",
        "community",
        "micro_grid",
        "address",
        "head",
        "phone",
        "members",
        "occupancy",
        "tags",
    ):
        assert key in h
    assert h["phone"] == "138 1234 5678" and h["phones"] == ["13812345678"]
    assert h["tags"] == ["独居老人", "高龄"]
    table = cli("household", "list").stdout
    assert "张*" in table and "138****5678" in table and "张伟" not in table
    assert "张伟" in cli("household", "list", "--reveal").stdout


@pytest.mark.parametrize(
    ("phone", "phones"),
    [
        ("62345678", ["02162345678"]),
        ("5847-6446", ["02158476446"]),
        ("(021)62345678", ["02162345678"]),
        ("+86 138 1234 5678", ["13812345678"]),
        ("62345678转123", ["02162345678转123"]),
        ("62345678 ext 45", ["02162345678转45"]),
        ("13812345678/13912345678", ["13812345678", "13912345678"]),
        ("62345678、13812345678", ["02162345678", "13812345678"]),
        ("62345678或13812345678", ["02162345678", "13812345678"]),
        ("2158942977", ["02158942977"]),
        ("１３８１２３４５６７８", ["13812345678"]),
        ("138****5678", ["138****5678"]),
        ("1381234", []),
    ],
)
def test_household_add_keeps_any_phone_as_written(cli, phone, phones):
    result = cli(
        "household", "add", "--address", "曹杨一村1号101室", "--grid", "g", "--phone", phone
    )
    assert result.exit_code == 0, result.output
    [h] = cli.json("household", "list")
    assert (h["phone"], h["phones"]) == (phone, phones)
    flagged = "无法识别" in result.stderr or "遮挡" in result.stderr
    assert flagged == (phone in ("138****5678", "1381234"))


@pytest.mark.parametrize(
    "head", ["老王", "王阿姨", "王秀英（已故）", "王秀英/冯玲建", "王*国", "張偉", "王　秀英"]
)
def test_household_add_keeps_any_name_as_written(cli, head):
    result = cli("household", "add", "--address", "曹杨一村1号101室", "--grid", "g", "--head", head)
    assert result.exit_code == 0, result.output
    assert cli.json("household", "list")[0]["head"] == head


def test_household_edit_changes_only_what_is_given(cli):
    hid = cli(
        "household", "add", "--address", "曹杨一村1号101室", "--grid", "g", "--head", "王秀英"
    ).stdout.strip()
    result = cli("household", "edit", hid[-8:], "--phone", "62345678转123")
    assert result.exit_code == 0, result.output
    [h] = cli.json("household", "list")
    assert (h["head"], h["phone"], h["phones"]) == ("王秀英", "62345678转123", ["02162345678转123"])
    assert cli("household", "edit", hid, "--phone", "").exit_code == 0
    [h] = cli.json("household", "list")
    assert (h["phone"], h["phones"]) == (None, [])
    bad = cli("household", "edit", hid, "--address", " ")
    assert bad.exit_code == 1 and "地址" in bad.stderr
    missing = cli("--lang", "en", "household", "edit", "nosuchhousehold", "--phone", "62345678")
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_household_add_drops_id_numbers(cli):
    result = cli(
        "household",
        "add",
        "--address",
        "曹杨一村1号101室",
        "--grid",
        "g",
        "--note",
        "身份证：110101194803121232，独居",
    )
    assert result.exit_code == 0, result.output
    [h] = cli.json("household", "list")
    assert h["note"] == "独居"


def test_visit_lifecycle_done_when(demo_cli):
    """The issue's scenario: add, edit, delete, list --json."""
    households = demo_cli.json("household", "list")
    hid = households[0]["id"]
    before = len(demo_cli.json("visit", "list"))
    r = demo_cli(
        "visit",
        "add",
        "--household",
        hid[-8:],
        "--date",
        "2026-11-20",
        "--visitor",
        "陈静",
        "--mode",
        "phone",
        "--outcome",
        "met",
        "--summary",
        "老人身体好",
        "--problem",
        "物业:楼道灯坏了",
        "--demand",
        "配药不方便",
    )
    assert r.exit_code == 0, r.output
    vid = r.stdout.strip()
    visits = demo_cli.json("visit", "list")
    assert len(visits) == before + 1
    v = next(v for v in visits if v["id"] == vid)
    assert (v["household_id"], v["visit_date"], v["visitor"], v["mode"], v["outcome"]) == (
        hid,
        "2026-11-20",
        "陈静",
        "电话",
        "见面",
    )
    assert [(i["kind"], i["category"], i["description"]) for i in v["items"]] == [
        ("问题", "物业", "楼道灯坏了"),
        ("需求", "其他", "配药不方便"),
    ]

    edited = demo_cli.json("visit", "edit", vid, "--summary", "老人身体很好")
    assert edited["summary"] == "老人身体很好" and edited["mode"] == "电话"

    assert demo_cli("visit", "delete", vid).exit_code == 0
    assert vid not in {v["id"] for v in demo_cli.json("visit", "list")}
    assert vid not in {i["visit_id"] for i in demo_cli.json("item", "list")}
    conn = rawdb.connect(demo_cli.db)
    assert conn.execute("SELECT deleted FROM visits WHERE id = ?", [vid]).fetchone() == (1,)


def test_visit_add_uses_worker_from_settings(cli):
    cli("init", "--worker", "李晓燕")
    hid = cli("household", "add", "--address", "枣阳路100弄5号602室", "--grid", "g").stdout.strip()
    v = cli.json("visit", "add", "--household", hid)
    assert v["visitor"] == "李晓燕" and v["mode"] == "入户" and v["outcome"] == "见面"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["visit", "add", "--household", "{hid}", "--date", "2026-02-30", "--visitor", "x"],
            "不是有效日期",
        ),
        (["visit", "add", "--household", "nosuchhousehold", "--visitor", "x"], "找不到住户"),
        (["visit", "add", "--household", "{hid}", "--mode", "飞鸽", "--visitor", "x"], "走访方式"),
        (
            ["visit", "add", "--household", "{hid}", "--outcome", "maybe", "--visitor", "x"],
            "走访结果",
        ),
        (
            ["visit", "add", "--household", "{hid}", "--visitor", "x", "--problem", " "],
            "描述不能为空",
        ),
        (["visit", "edit", "nosuchvisit", "--summary", "x"], "找不到走访记录"),
        (["visit", "edit", "{vid}"], "没有要修改的内容"),
        (["visit", "edit", "{vid}", "--date", "tomorrow"], "不是有效日期"),
        (["visit", "delete", "nosuchvisit"], "找不到走访记录"),
        (["item", "update", "{iid}", "--status", "搁置"], "办理状态"),
        (["item", "update", "{iid}", "--status", "无法解决"], "原因"),
        (["item", "list", "--kind", "传闻"], "清单类型"),
        (["household", "list", "--grid", "曹杨一村1网格"], "相近的有：曹杨一村1号网格"),
        (["household", "list", "--grid", "曹杨一村1网格", "--json"], "相近的有：曹杨一村1号网格"),
        (["visit", "list", "--grid", "花园"], "没有名为“花园”的微网格"),
        (["item", "list", "--grid", "花园", "--open"], "没有名为“花园”的微网格"),
        (["household", "add", "--address", " ", "--grid", "g", "--phone", "123"], "地址"),
        (["household", "add", "--address", "x", "--grid", "g", "--tags", "富豪"], "标签"),
    ],
)
def test_bad_input_exits_1_with_one_line_and_changes_nothing(demo_cli, args, fragment):
    hid = demo_cli.json("household", "list")[0]["id"]
    item = demo_cli.json("item", "list", "--open")[0]
    args = [a.format(hid=hid, vid=item["visit_id"], iid=item["id"]) for a in args]
    before = _digest(demo_cli.db)
    result = demo_cli(*args)
    assert result.exit_code == 1, result.output
    assert fragment in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 2
    assert _digest(demo_cli.db) == before


def test_visit_add_without_any_visitor_says_how(cli):
    hid = cli("household", "add", "--address", "曹杨一村1号101室", "--grid", "g").stdout.strip()
    result = cli("visit", "add", "--household", hid)
    assert result.exit_code == 1 and "--visitor" in result.stderr and "init" in result.stderr
    assert cli.json("visit", "list") == []


def test_errors_in_english(cli):
    result = cli("--lang", "en", "visit", "add", "--household", "nosuchhousehold", "--visitor", "x")
    assert result.exit_code == 1 and "No household 'nosuchhousehold'" in result.stderr


def test_unknown_command_and_option_exit_2(cli):
    assert cli("fly").exit_code == 2
    assert cli("visit", "add", "--colour", "red").exit_code == 2
    assert cli("visit", "edit").exit_code == 2


def test_item_update_and_lists(demo_cli):
    overdue = demo_cli.json("item", "list", "--overdue")
    assert overdue and all(i["status"] in ("待办", "办理中") for i in overdue)
    iid = overdue[0]["id"]
    updated = demo_cli.json(
        "item",
        "update",
        iid,
        "--status",
        "已办结",
        "--note",
        "已修复",
        "--satisfaction",
        "基本满意",
    )
    assert (updated["status"], updated["resolution"], updated["satisfaction"]) == (
        "已办结",
        "已修复",
        "基本满意",
    )
    assert iid not in {i["id"] for i in demo_cli.json("item", "list", "--open")}
    problems = demo_cli.json("item", "list", "--kind", "problem")
    assert problems and {i["kind"] for i in problems} == {"问题"}


def test_unreadable_database_file(tmp_path, cli):
    bad = tmp_path / "broken.db"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    from typer.testing import CliRunner

    from visitlog.cli import app

    result = CliRunner().invoke(app, ["--db", str(bad), "household", "list"])
    assert result.exit_code == 1 and "不是 visitlog 数据库" in result.stderr
    assert bad.read_bytes() == b"\x00\x01garbage" * 100


def test_newer_schema_database(cli):
    cli("init", "--worker", "x")
    store = Store(cli.db)
    store.set_settings(schema_version="42", schema_release="3.1.0")
    store.close()
    result = cli("household", "list")
    assert result.exit_code == 1 and "3.1.0" in result.stderr and "升级" in result.stderr


def test_check_and_backup(demo_cli, tmp_path):
    ok = demo_cli.json("check")
    assert ok["ok"] is True and ok["counts"]["households"] == 200
    dest = tmp_path / "backup.db"
    assert demo_cli("backup", str(dest)).exit_code == 0
    assert Store(dest).count_live() == Store(demo_cli.db).count_live()


def test_check_reports_damage(demo_cli):
    conn = rawdb.connect(demo_cli.db)
    conn.execute("UPDATE visits SET mode = '骑马' WHERE rowid = 1")
    conn.commit()
    conn.close()
    result = demo_cli("check")
    assert result.exit_code == 1 and "visits.mode" in result.stderr


def test_demo_refuses_non_empty_database(demo_cli):
    result = demo_cli("demo", "--households", "10")
    assert result.exit_code == 1 and "空数据库" in result.stderr


def test_demo_is_deterministic(tmp_path):
    from typer.testing import CliRunner

    from visitlog.cli import app

    outs = []
    for name in ("a.db", "b.db"):
        path = tmp_path / name
        result = CliRunner().invoke(
            app, ["--db", str(path), "demo", "--households", "120", "--seed", "5", "--json"]
        )
        assert result.exit_code == 0, result.output
        outs.append(json.loads(result.stdout))
        conn = rawdb.connect(path)
        outs.append(
            conn.execute("SELECT id, address, head, phone FROM households ORDER BY id").fetchall()
        )
    assert outs[1] == outs[3] and outs[0]["visits"] == outs[2]["visits"]


def test_env_var_and_default_location(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from visitlog.cli import app

    monkeypatch.setenv("VISITLOG_DB", str(tmp_path / "env.db"))
    assert CliRunner().invoke(app, ["init", "--worker", "x"]).exit_code == 0
    assert (tmp_path / "env.db").exists()
    monkeypatch.delenv("VISITLOG_DB")
    assert CliRunner().invoke(app, ["init", "--worker", "y"]).exit_code == 0
    from visitlog.store import default_db_path

    assert default_db_path().exists() and str(tmp_path) not in str(default_db_path())


def test_python_dash_m_runs_as_a_real_process(tmp_path):
    db = tmp_path / "p.db"
    out = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(db), "visit", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and json.loads(out.stdout) == []
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "visitlog",
            "--db",
            str(db),
            "visit",
            "add",
            "--household",
            "zzzzzz",
            "--visitor",
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr and "找不到住户" in out.stderr
