"""The PostgreSQL hub from the command line: hub init, stations, sync, bundles, summary."""

from __future__ import annotations

from visitlog.store import Store


def test_the_street_summary_on_the_hub_is_the_file_hubs(tmp_path, cli, demo_db, pg, pg_hub):
    demo = Store(demo_db)
    demo.close()
    laptop = cli.__class__(demo_db)
    assert laptop("sync", pg_hub).exit_code == 0
    file_hub = tmp_path / "hub.db"
    assert laptop("sync", str(file_hub), "--new-hub").exit_code == 0
    period = ["--from", "2026-01-01", "--to", "2026-12-31"]
    for by in ("micro-grid", "street"):
        on_pg = laptop.json("summary", "--hub", pg_hub, "--by", by, *period)
        on_file = cli.__class__(file_hub).json("summary", "--by", by, *period)
        assert on_pg == on_file
        assert on_pg["totals"]["households"] > 0
    # a station's account sums up its own 居民区 only
    first = on_pg["groups"][0]
    community = laptop.json("household", "list")[0]["community"]
    role = pg.role_name("st")
    added = laptop("hub", "station", "add", pg_hub, role, "--community", community)
    assert added.exit_code == 0
    mine = laptop.json("summary", "--hub", pg.url_as(pg_hub, role), "--by", "community", *period)
    assert [g["community"] for g in mine["groups"]] == [community]
    assert mine["totals"]["households"] < first["households"] or len(on_pg["groups"]) == 1
    # ... and its numbers are the whole hub's for that 居民区 (its rows read by place)
    whole = laptop.json("summary", "--hub", pg_hub, "--by", "community", *period)
    assert mine["groups"] == [g for g in whole["groups"] if g["community"] == community]


def test_hub_init_station_and_bundle_import_in_plain_words(tmp_path, cli, pg):
    url = pg.database()
    made = cli("hub", "init", url)
    assert made.exit_code == 0 and "visitlog" in made.output
    assert "无需改动" in cli("hub", "init", url).output
    bad = cli("hub", "station", "add", url, "Bad-Name", "--community", "花溪园")
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert cli("hub", "station", "add", url, "vt_nothing").exit_code == 1
    # a bundle from a laptop, imported into the hub; a second time moves nothing
    assert cli("household", "add", "--address", "花溪园1号101室", "--grid", "一网格").exit_code == 0
    assert cli("key", "init").exit_code == 0  # bundles are sealed with the station key
    bundle = tmp_path / "week.vlb"
    assert cli("bundle", "export", str(bundle)).exit_code == 0
    first = cli.json("bundle", "import", str(bundle), "--hub", url)
    assert first["received"] >= 1
    assert cli.json("bundle", "import", str(bundle), "--hub", url)["received"] == 0
    # a laptop syncing with the hub has it all already
    assert cli.json("sync", url)["received"] == 0
    # a station given another 居民区 is told how many households that moves
    role = pg.role_name("cli")
    made = cli("hub", "station", "add", url, role, "--community", "源园")
    assert made.exit_code == 0 and "范围变了" not in made.output
    # ... and told when no household on the hub is in a place it was given
    assert "集中库里没有“源园”的住户" in made.output.replace("\n", "")
    assert "是不是写错了" in made.output.replace("\n", "")
    other = cli("hub", "station", "add", url, pg.role_name("cli2"), "--grid", "一网格")
    assert other.exit_code == 0 and "集中库里没有" not in other.output
    widened = cli("hub", "station", "add", url, role, "--community", "源园", "--grid", "一网格")
    assert widened.exit_code == 0
    assert "多看到 1 户，少看到 0 户" in widened.output.replace("\n", "")
    # unreachable server, not a hub: one line, exit 1
    for target in ("postgresql://postgres@127.0.0.1:1/x", pg.database()):
        out = cli("sync", target)
        assert out.exit_code == 1 and "Traceback" not in out.output
        assert len(out.output.strip().splitlines()) <= 2
