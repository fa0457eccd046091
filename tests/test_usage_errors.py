"""A mistyped command line: one line in the chosen language, exit code 2, nothing stored.

Click's own English boxes ("Missing option", "No such command") never reach
a worker; switches are shown and used as switches.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

CJK = re.compile(r"[\u4e00-\u9fff]")
# Words of Click's own messages that must not show through.
CLICK_WORDS = re.compile(
    r"Usage|Try '|Missing|No such|Invalid value|unexpected extra|requires an argument|"
    r"does not take|Error|Input should|╭|Traceback"
)

CASES = [
    # (arguments, what the zh line must name, what the en line must name)
    (["visit", "add"], ["缺少 --household", "visitlog visit add -h"], ["--household is missing"]),
    (["backup"], ["缺少备份文件"], ["Missing: Backup file"]),
    (["frobnicate"], ["没有“frobnicate”这个命令"], ["no command “frobnicate”"]),
    (["househld", "list"], ["是不是 household"], ["did you mean household"]),
    (["household", "lst"], ["是不是 list", "visitlog household -h"], ["did you mean list"]),
    (["check", "--jsn"], ["没有 --jsn 这个选项", "--json"], ["no option --jsn", "--json"]),
    (["check", "--json=1"], ["--json 是开关", "visitlog check -h"], ["--json is a switch"]),
    (["household", "list", "--json", "true"], ["多余的内容：true"], ["Unexpected: true"]),
    (["household", "add", "--grid"], ["--grid 后面要写一个值"], ["--grid needs a value"]),
    (["demo", "-n", "abc"], ["--households 的值不对", "不小于 1 的整数"], ["at least 1"]),
    (["demo", "-n", "0"], ["--households 的值不对"], ["Wrong value for --households"]),
]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("args,zh,en", CASES, ids=lambda c: " ".join(c) if c else "")
def test_usage_error_is_one_chinese_line_with_exit_2(cli, args, zh, en):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = _lines(result.stderr)
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("错误：")
    for part in zh:
        assert part in line
    assert not CLICK_WORDS.search(line), line
    assert result.stdout == ""


@pytest.mark.parametrize("args,zh,en", CASES, ids=lambda c: " ".join(c) if c else "")
def test_usage_error_in_english(cli, args, zh, en):
    result = cli("--lang", "en", *args)
    assert result.exit_code == 2, result.output
    lines = _lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for part in en:
        assert part in lines[0]
    assert not CJK.search(lines[0]), lines[0]


def test_bad_language_is_a_usage_error(cli):
    result = cli("--lang", "fr", "check")
    assert result.exit_code == 2
    assert _lines(result.stderr) == ["错误：--lang 的值不对：可选 zh | en。 用法：visitlog -h"]


def test_a_usage_error_stores_nothing(cli, db_path):
    assert cli("household", "add", "--address", "曹杨一村1号101室").exit_code == 2
    # the database was never opened for writing: no household, maybe no file at all
    if db_path.exists():
        listed = cli.json("household", "list")
        assert listed == []


def test_a_command_without_its_subcommand_shows_its_help_and_exits_2(cli):
    result = cli("household")
    assert result.exit_code == 2
    assert "用法：visitlog household [选项] 命令 [参数]" in result.output
    assert "list" in result.output


def test_switches_are_shown_without_a_value(cli):
    text = cli("household", "list", "--help").output
    assert "<bool>" not in text
    json_line = next(line for line in text.splitlines() if "--json" in line)
    assert "输出 JSON" in json_line
    assert "<" not in json_line
    # an option that takes a value still says which kind
    grid_line = next(line for line in text.splitlines() if "--grid" in line)
    assert "<文字>" in grid_line


def test_switches_work_without_a_value(cli):
    result = cli("household", "list", "--json")
    assert result.exit_code == 0
    assert result.stdout.strip() == "[]"


def test_help_frame_is_in_the_chosen_language(cli):
    zh = cli("visit", "add", "--help").output
    for word in ("用法：", "选项", "显示这份说明", "[必填]", "[默认："):
        assert word in zh
    for word in ("Usage", "Options", "Show this message", "[required]", "[default"):
        assert word not in zh
    en = cli("--lang", "en", "visit", "add", "--help").output
    assert "Usage: visitlog visit add [OPTIONS]" in en
    assert "Show this help." in en
    assert not CJK.search(en)


def test_usage_error_from_a_real_process_is_one_line():
    env = {**os.environ, "VISITLOG_LANG": "zh"}
    proc = subprocess.run(
        [sys.executable, "-m", "visitlog", "visit", "add", "--household"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = _lines(proc.stderr)
    assert lines == ["错误：--household 后面要写一个值。 用法：visitlog visit add -h"]
    assert proc.stdout == ""
