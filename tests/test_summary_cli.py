"""``visitlog summary`` through the CLI: the JSON contract, files, --reveal, bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from visitlog.store import Store

PERIOD = ("--from", "2026-01-01", "--to", "2026-10-31")


def _json(cli, *args: str) -> dict:
    result = cli("summary", "--format", "json", *PERIOD, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_follows_the_contract(demo_cli):
    out = _json(demo_cli)
    assert out["period"] == {"from": "2026-01-01", "to": "2026-10-31"}
    assert out["by"] == "micro-grid"
    assert out["groups"]
    for g in [*out["groups"], out["totals"]]:
        for key in (
            "households",
            "visited_households",
            "coverage",
            "visits",
            "items",
            "open_items",
            "closed_items",
            "closure_rate",
            "overdue_items",
            "satisfaction_rate",
        ):
            assert key in g, key
        assert set(g["items"]) == {"问题", "需求", "赋能", "措施"}
    assert all("micro_grid" in g for g in out["groups"])
    for key in ("unsynced_changes", "open_conflicts", "health"):
        assert key in out["totals"]


@pytest.mark.parametrize("level", ["community", "street"])
def test_json_groups_are_named_by_the_level(demo_cli, level):
    out = _json(demo_cli, "--by", level)
    assert out["by"] == level
    assert all(level in g for g in out["groups"])
    grids = _json(demo_cli)
    # Additive figures of the roll-up equal the sum of the grids.
    for key in ("households", "visited_households", "visits", "open_items", "overdue_items"):
        assert sum(g[key] for g in out["groups"]) == sum(g[key] for g in grids["groups"])


def test_totals_agree_with_household_and_visit_lists(demo_cli):
    out = _json(demo_cli)["totals"]
    households = demo_cli.json("household", "list")
    visits = demo_cli.json("visit", "list", *PERIOD)
    live = {h["id"]: h for h in households}
    due = {hid for hid, h in live.items() if h["occupancy"] != "空置"}
    met = {v["household_id"] for v in visits if v["outcome"] == "见面"}
    assert out["live_households"] == len(households)
    assert out["households"] == len(due)
    assert out["visited_households"] == len(due & met)
    assert out["visits"] == len(visits)
    assert out["active_visitors"] == len({v["visitor"] for v in visits})
    items = [i for v in visits for i in v["items"]]
    assert out["items_total"] == len(items)
    assert out["items"]["问题"] == sum(1 for i in items if i["kind"] == "问题")
    assert out["coverage"] == pytest.approx(len(due & met) / len(due))


def test_grid_option_limits_the_summary(demo_cli):
    grid = demo_cli.json("household", "list")[0]["micro_grid"]
    out = _json(demo_cli, "--grid", grid)
    assert [g["micro_grid"] for g in out["groups"]] == [grid]
    households = demo_cli.json("household", "list", "--grid", grid)
    assert out["totals"]["live_households"] == len(households)


def test_default_table_is_printed(demo_cli):
    result = demo_cli("summary", *PERIOD)
    assert result.exit_code == 0, result.output
    assert "应访" in result.stdout and "合计" in result.stdout


def test_english_labels(demo_cli):
    result = demo_cli("--lang", "en", "summary", *PERIOD)
    assert result.exit_code == 0, result.output
    assert "Due" in result.stdout and "Total" in result.stdout


def test_output_file_is_owner_only_and_reported(demo_cli, tmp_path: Path):
    target = tmp_path / "week.json"
    result = demo_cli("summary", *PERIOD, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert str(target) in result.stdout.replace("\n", "")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    # The format follows the file name when --format is not given.
    assert json.loads(target.read_text(encoding="utf-8"))["period"]["to"] == "2026-10-31"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_existing_file_is_replaced_and_made_private(demo_cli, tmp_path: Path):
    target = tmp_path / "week.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)
    assert demo_cli("summary", *PERIOD, "-o", str(target)).exit_code == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_csv_on_stdout_keeps_its_bom(demo_cli):
    result = demo_cli("summary", *PERIOD, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("fmt", ["xlsx", "html"])
def test_file_formats_need_an_output_file(demo_cli, fmt):
    result = demo_cli("summary", *PERIOD, "--format", fmt)
    assert result.exit_code == 1
    assert "-o" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--by", "building"), "汇总层级"),
        (("--from", "2026-02-30"), "不是有效日期"),
        (("--to", "明天"), "不是有效日期"),
        (("--from", "2026-05-01", "--to", "2026-04-30"), "晚于"),
        (("--format", "pdf"), "输出格式"),
        (("--grid", "没有这个网格"), "没有名为"),
    ],
)
def test_bad_input_is_one_plain_line(demo_cli, args, message):
    result = demo_cli("summary", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_unwritable_output_is_a_plain_error(demo_cli, tmp_path: Path):
    result = demo_cli("summary", *PERIOD, "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert result.exit_code == 1
    assert "无法写入" in result.output
    result = demo_cli("summary", *PERIOD, "--format", "json", "-o", str(tmp_path))
    assert result.exit_code in (1, 2)  # Click refuses a folder before visitlog runs
    assert "Traceback" not in result.output


def test_reveal_is_audited_with_the_worker(demo_cli, demo_db: Path, tmp_path: Path):
    target = tmp_path / "full.html"
    result = demo_cli("summary", *PERIOD, "--format", "html", "-o", str(target), "--reveal")
    assert result.exit_code == 0, result.output
    store = Store(demo_db)
    entry = store.audit_entries(limit=1)[0]
    store.close()
    assert entry["action"] == "summary.reveal"
    assert entry["worker"] == "王丽华"
    assert entry["detail"]["worker"] == "王丽华"
    assert entry["detail"]["format"] == "html"
    assert entry["detail"]["output"] == str(target)


def test_reveal_needs_a_worker(cli):
    assert (
        cli("household", "add", "--address", "曹杨一村1号101室", "--grid", "1号网格").exit_code == 0
    )
    result = cli("summary", "--reveal")
    assert result.exit_code == 1
    assert "init --worker" in result.output


def test_summary_of_an_empty_database(cli):
    result = cli("summary", *PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["groups"] == [] and out["totals"]["coverage"] is None
    assert cli("summary", *PERIOD).exit_code == 0


def test_json_flag_is_the_json_format(demo_cli):
    out = demo_cli.json("summary", *PERIOD)
    assert out == _json(demo_cli)


def test_format_follows_the_output_suffix(demo_cli, tmp_path: Path):
    target = tmp_path / "week.xlsx"
    result = demo_cli("summary", *PERIOD, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:2] == b"PK"  # a zip container: an XLSX workbook
