"""Stations on a PostgreSQL hub: each laptop holds only its own households.

The hub enforces it with one role per station and row-level security; a
household moved between 居民区 appears on the laptops that may see it now
and leaves those that may not.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from visitlog.model import Household, Visit, VisitlogError
from visitlog.store import Store
from visitlog.sync import GapError, sync_with
from visitlog.sync.postgres.stations import add_station, list_stations, remove_station


def _laptop(path: Path, worker: str) -> Store:
    store = Store(path)
    store.init_identity(worker, path.stem)
    return store


def _households(store: Store) -> dict[str, str]:
    return {r["id"]: r["community"] for r in store.query("SELECT id, community FROM households")}


def _street(tmp_path: Path, hub: str) -> tuple[Store, dict[str, str]]:
    """The office laptop with two households in each of two 居民区, each visited."""
    office = _laptop(tmp_path / "office.db", "街道")
    ids = {}
    for community in ("花溪园", "源园"):
        for n in (1, 2):
            h = office.add_household(
                Household(
                    address=f"{community}{n}号101室", community=community, micro_grid="一网格"
                )
            )
            office.add_visit(Visit(household_id=h.id, visit_date="2026-11-01", visitor="王"))
            ids[f"{community}{n}"] = h.id
    sync_with(office, hub)
    return office, ids


def test_a_station_receives_only_its_own_and_cannot_read_the_rest(tmp_path, pg, pg_hub):
    office, ids = _street(tmp_path, pg_hub)
    huaxi, yuan = pg.role_name("huaxi"), pg.role_name("yuan")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    add_station(pg_hub, yuan, grids=("源园/一网格",))
    assert [s.role for s in list_stations(pg_hub)] == sorted([huaxi, yuan])
    h = _laptop(tmp_path / "h.db", "张")
    sync_with(h, pg.url_as(pg_hub, huaxi))
    assert set(_households(h).values()) == {"花溪园"}
    assert h.scalar("SELECT count(*) FROM visits") == 2
    # a hand-written query under the station's role reads nothing of 源园
    with psycopg.connect(pg.url_as(pg_hub, huaxi)) as conn:
        assert conn.execute("SELECT count(*) FROM rows WHERE community = '源园'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM rows WHERE tbl = 'households'").fetchone()[0] == 2
        hidden = conn.execute(
            "SELECT count(*) FROM changes WHERE row_id = %s", [ids["源园1"]]
        ).fetchone()[0]
        assert hidden == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM stations")
    with psycopg.connect(pg_hub) as conn:  # the owner sees them
        assert (
            conn.execute(
                "SELECT count(*) FROM changes WHERE row_id = %s", [ids["源园1"]]
            ).fetchone()[0]
            >= 1
        )
    # the laptop's edits reach the office; a repeated sync moves nothing
    h.update_household(ids["花溪园1"], phone="62345678")
    assert sync_with(h, pg.url_as(pg_hub, huaxi)).sent_total == 1
    again = sync_with(h, pg.url_as(pg_hub, huaxi))
    assert (again.sent_total, again.received_total) == (0, 0)
    sync_with(office, pg_hub)
    assert (
        office.scalar("SELECT phone FROM households WHERE id = ?", [ids["花溪园1"]]) == "62345678"
    )
    for s in (office, h):
        s.close()


def test_a_household_moved_between_communities_follows_on_the_laptops(tmp_path, pg, pg_hub):
    office, ids = _street(tmp_path, pg_hub)
    huaxi, yuan = pg.role_name("huaxi"), pg.role_name("yuan")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    add_station(pg_hub, yuan, communities=("源园",))
    h, y = _laptop(tmp_path / "h.db", "张"), _laptop(tmp_path / "y.db", "李")
    h_url, y_url = pg.url_as(pg_hub, huaxi), pg.url_as(pg_hub, yuan)
    for laptop, url in ((h, h_url), (y, y_url)):
        sync_with(laptop, url)
    moving = ids["源园1"]
    # 源园's laptop edits it, then the office moves it to 花溪园
    y.update_household(moving, members=3)
    sync_with(y, y_url)
    sync_with(office, pg_hub)
    office.update_household(moving, community="花溪园")
    sync_with(office, pg_hub)
    gone = sync_with(y, y_url)
    assert gone.let_go == 1
    assert moving not in _households(y)
    assert y.scalar("SELECT count(*) FROM visits WHERE household_id = ?", [moving]) == 0
    came = sync_with(h, h_url)
    assert _households(h)[moving] == "花溪园"
    assert h.scalar("SELECT members FROM households WHERE id = ?", [moving]) == 3
    assert h.scalar("SELECT count(*) FROM visits WHERE household_id = ?", [moving]) == 1
    assert came.let_go == 0
    # the vectors stay right: nothing more moves, and edits keep flowing
    for laptop, url in ((h, h_url), (y, y_url)):
        again = sync_with(laptop, url)
        assert (again.sent_total, again.received_total, again.let_go) == (0, 0, 0)
    h.update_household(moving, phone="13912345678")
    sync_with(h, h_url)
    sync_with(office, pg_hub)
    assert office.scalar("SELECT phone FROM households WHERE id = ?", [moving]) == "13912345678"
    # moved back: it returns to 源园's laptop whole, with the edit made meanwhile
    office.update_household(moving, community="源园")
    sync_with(office, pg_hub)
    assert sync_with(h, h_url).let_go == 1
    sync_with(y, y_url)
    assert y.scalar("SELECT phone FROM households WHERE id = ?", [moving]) == "13912345678"
    assert y.scalar("SELECT count(*) FROM visits WHERE household_id = ?", [moving]) == 1
    # and a station laptop moving one away lets it go itself
    y.update_household(moving, community="花溪园")
    assert sync_with(y, y_url).let_go == 1
    sync_with(h, h_url)
    assert _households(h)[moving] == "花溪园"
    for s in (office, h, y):
        s.close()


def test_station_names_and_scopes_are_checked(pg_hub):
    with pytest.raises(VisitlogError):
        add_station(pg_hub, "Bad-Name", communities=("花溪园",))
    with pytest.raises(VisitlogError):
        add_station(pg_hub, "vt_empty")


def test_a_station_given_a_place_the_hub_does_not_hold_is_told_the_closest(tmp_path, pg, pg_hub):
    """A misspelt 居民区 or 微网格 would leave the station's laptops empty
    without a word: the station is made as written, and each place no
    household is in comes back with the closest place the hub holds."""
    role = pg.role_name("typo")
    # a hub without households yet: nothing to compare with, nothing said
    assert add_station(pg_hub, role, communities=("花溪圆",)).unknown == ()
    office, _ = _street(tmp_path, pg_hub)
    made = add_station(
        pg_hub,
        role,
        communities=("花溪圆", "源园"),
        grids=("源园/一网格", "源园/二网格", "一网格", "九十九号楼"),
    )
    assert made.unknown == (
        ("花溪圆", "花溪园"),
        ("源园/二网格", "源园/一网格"),
        ("九十九号楼", None),
    )
    assert made.communities == ("花溪圆", "源园")  # made as written
    assert add_station(pg_hub, role, communities=("花溪园",)).unknown == ()
    office.close()


def test_a_station_laptop_never_passes_on_what_it_may_not_see(tmp_path, pg, pg_hub):
    """Another replica syncing with a station's laptop would believe it holds
    the changes the laptop skipped: it is refused with a gap instead."""
    office, _ids = _street(tmp_path, pg_hub)
    # one more of 花溪园 after those of 源园: the laptop skips changes in between
    office.add_household(Household(address="花溪园3号", community="花溪园", micro_grid="一网格"))
    sync_with(office, pg_hub)
    huaxi = pg.role_name("huaxi")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    h = _laptop(tmp_path / "h.db", "张")
    sync_with(h, pg.url_as(pg_hub, huaxi))
    assert h.scalar("SELECT count(*) FROM households") == 3
    other = _laptop(tmp_path / "other.db", "赵")
    with pytest.raises(GapError):
        sync_with(other, h.path)
    assert other.scalar("SELECT count(*) FROM households") == 0
    # a dry run counts only real changes
    assert sync_with(other, tmp_path / "x.db", dry_run=True).received_total == 0
    for s in (office, h, other):
        s.close()


class _Killed(Exception):
    pass


def test_a_sync_killed_after_the_hub_committed_tells_the_move_again(tmp_path, pg, pg_hub):
    office, ids = _street(tmp_path, pg_hub)
    yuan = pg.role_name("yuan")
    add_station(pg_hub, yuan, communities=("源园",))
    y, url = _laptop(tmp_path / "y.db", "李"), pg.url_as(pg_hub, yuan)
    sync_with(y, url)
    office.update_household(ids["源园2"], community="花溪园")
    sync_with(office, pg_hub)

    def kill(phase: str, done: int, total: int) -> None:
        if phase == "commit" and done == 1:  # the hub has committed, the laptop not
            raise _Killed

    with pytest.raises(_Killed):
        sync_with(y, url, progress=kill)
    assert ids["源园2"] in _households(y)
    assert sync_with(y, url).let_go == 1
    assert ids["源园2"] not in _households(y)
    assert set(_households(y).values()) == {"源园"}
    for s in (office, y):
        s.close()


def test_what_a_station_laptop_adds_is_built_on_the_hub_at_once(tmp_path, pg, pg_hub):
    """A visit and a household new on a station's laptop become rows on the hub
    in its own sync (the policies hide a row's changes until the row is there),
    and reach the station's other laptops, not the other station's."""
    office, ids = _street(tmp_path, pg_hub)
    huaxi, yuan = pg.role_name("huaxi"), pg.role_name("yuan")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    add_station(pg_hub, yuan, communities=("源园",))
    a, b = _laptop(tmp_path / "a.db", "张"), _laptop(tmp_path / "b.db", "李")
    other = _laptop(tmp_path / "y.db", "赵")
    for laptop, role in ((a, huaxi), (b, huaxi), (other, yuan)):
        sync_with(laptop, pg.url_as(pg_hub, role))
    visit = a.add_visit(Visit(household_id=ids["花溪园1"], visit_date="2026-11-20", visitor="张"))
    new = a.add_household(
        Household(address="花溪园9号301室", community="花溪园", micro_grid="一网格")
    )
    a.add_visit(Visit(household_id=new.id, visit_date="2026-11-21", visitor="张"))
    assert sync_with(a, pg.url_as(pg_hub, huaxi)).sent_total == 3
    with psycopg.connect(pg_hub) as conn:
        assert conn.execute("SELECT count(*) FROM orphans").fetchone()[0] == 0
        built = {r[0] for r in conn.execute("SELECT id FROM rows")}
    assert {visit.id, new.id} <= built
    assert sync_with(b, pg.url_as(pg_hub, huaxi)).received_total == 3
    assert b.scalar("SELECT count(*) FROM visits WHERE id = ?", [visit.id]) == 1
    assert b.scalar("SELECT count(*) FROM visits WHERE household_id = ?", [new.id]) == 1
    sync_with(other, pg.url_as(pg_hub, yuan))
    assert other.scalar("SELECT count(*) FROM households WHERE id = ?", [new.id]) == 0
    assert other.scalar("SELECT count(*) FROM visits WHERE id = ?", [visit.id]) == 0
    # the office, which sees everything, has them too
    sync_with(office, pg_hub)
    assert office.scalar("SELECT count(*) FROM visits WHERE id = ?", [visit.id]) == 1
    for s in (office, a, b, other):
        s.close()


@pytest.mark.parametrize("scoped_min", [0, 10**9], ids=["by-places", "by-ranges"])
def test_a_station_pull_reads_its_own_rows_not_the_whole_log(
    tmp_path, pg, pg_hub, monkeypatch, scoped_min
):
    """The first pull of a station gets the same changes and skips as the
    policies allow, whether read through the station's places (a grid
    named with its 居民区 included) or range by range."""
    from visitlog.sync.postgres import replica

    monkeypatch.setattr(replica, "SCOPED_MIN", scoped_min)
    office, _ids = _street(tmp_path, pg_hub)
    grid = pg.role_name("grid")
    add_station(pg_hub, grid, grids=("源园/一网格",))
    lap = _laptop(tmp_path / "g.db", "孙")
    got = sync_with(lap, pg.url_as(pg_hub, grid))
    assert set(_households(lap).values()) == {"源园"}
    assert lap.scalar("SELECT count(*) FROM visits") == 2
    assert got.received_total == 4
    # the laptop's vector covers the whole log (skips for what it may not see)
    with psycopg.connect(pg_hub) as conn:
        hub_vv = dict(conn.execute("SELECT * FROM visitlog_version_vector()").fetchall())
    assert lap.version_vector() == {d: int(s) for d, s in hub_vv.items()}
    # what the station may read by hand is exactly what it received
    with psycopg.connect(pg.url_as(pg_hub, grid)) as conn:
        readable = conn.execute(
            "SELECT count(*) FROM changes WHERE tbl IN ('households', 'visits', 'items')"
        ).fetchone()[0]
    assert readable == 4
    office.close()
    lap.close()


def test_a_station_that_only_pulls_revisits_the_rows_waiting_on_the_hub(tmp_path, pg, pg_hub):
    """Rows waiting on the hub for late work (a visit whose household has not
    come yet) are looked at again by every sync, a station's pull too."""
    office, _ids = _street(tmp_path, pg_hub)
    huaxi = pg.role_name("huaxi")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    with psycopg.connect(pg_hub) as conn:
        conn.execute("INSERT INTO orphans(tbl, row_id) VALUES ('visits', 'waiting-visit')")
    lap = _laptop(tmp_path / "h.db", "张")
    assert sync_with(lap, pg.url_as(pg_hub, huaxi)).received_total == 4
    assert sync_with(lap, pg.url_as(pg_hub, huaxi)).received_total == 0
    with psycopg.connect(pg_hub) as conn:
        assert conn.execute("SELECT row_id FROM orphans").fetchall() == [("waiting-visit",)]
    office.close()
    lap.close()


def test_what_each_kind_of_station_may_read(tmp_path, pg, pg_hub):
    """The policies' test of a row's place, for every way a station is named:
    its 居民区, a 微网格 with its 居民区, a bare 微网格 (in any 居民区),
    everything (the street office); a role taken off the hub is refused."""
    office, ids = _street(tmp_path, pg_hub)
    h = office.add_household(
        Household(address="源园9号101室", community="源园", micro_grid="二网格")
    )
    sync_with(office, pg_hub)
    kinds = {
        "c": ({"communities": ("源园",)}, {ids["源园1"], ids["源园2"], h.id}),
        "q": ({"grids": ("源园/二网格",)}, {h.id}),
        "g": ({"grids": ("一网格",)}, {ids["花溪园1"], ids["花溪园2"], ids["源园1"], ids["源园2"]}),
        "a": ({"everything": True}, {*ids.values(), h.id}),
    }
    for name, (scope, expected) in kinds.items():
        role = pg.role_name(name)
        add_station(pg_hub, role, **scope)
        with psycopg.connect(pg.url_as(pg_hub, role)) as conn:
            seen = {r[0] for r in conn.execute("SELECT id FROM rows WHERE tbl = 'households'")}
            visits = conn.execute("SELECT count(*) FROM rows WHERE tbl = 'visits'").fetchone()[0]
        assert seen == expected, name
        assert visits == len(expected - {h.id}), name  # each household but the new one was visited
        lap = _laptop(tmp_path / f"{name}.db", "张")
        sync_with(lap, pg.url_as(pg_hub, role))
        assert set(_households(lap)) == expected, name
        lap.close()
    nobody = pg.role_name("n")
    add_station(pg_hub, nobody, communities=("花溪园",))
    from visitlog.sync.postgres.stations import remove_station

    remove_station(pg_hub, nobody)
    with psycopg.connect(pg.url_as(pg_hub, nobody)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM rows WHERE tbl = 'households'")
    office.close()


def test_a_station_given_more_or_fewer_places_gets_or_lets_go_of_their_households(
    tmp_path, pg, pg_hub, monkeypatch
):
    """The street reorganises: a station's role is given another 居民区 (a worker
    covers for a colleague), then only its own again.  Its laptop, whose vector
    had passed those households' changes as skips, receives them whole at its
    next sync, then lets them go; nothing else moves, and it edits on."""
    from visitlog.sync.postgres import replica as pg_replica

    monkeypatch.setattr(pg_replica, "MOVED_BATCH", 2)  # what comes again, in several batches
    office, ids = _street(tmp_path, pg_hub)
    office.update_household(ids["源园1"], members=4)  # an edit before the change of places
    sync_with(office, pg_hub)
    huaxi, yuan = pg.role_name("huaxi"), pg.role_name("yuan")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    add_station(pg_hub, yuan, communities=("源园",))
    h, y = _laptop(tmp_path / "h.db", "张"), _laptop(tmp_path / "y.db", "李")
    h_url, y_url = pg.url_as(pg_hub, huaxi), pg.url_as(pg_hub, yuan)
    sync_with(h, h_url)
    sync_with(y, y_url)
    assert set(_households(h).values()) == {"花溪园"}

    widened = add_station(pg_hub, huaxi, communities=("花溪园", "源园"))
    assert (widened.gained, widened.lost) == (2, 0)
    got = sync_with(h, h_url)
    assert _households(h) == _households(office)
    assert h.scalar("SELECT members FROM households WHERE id = ?", [ids["源园1"]]) == 4
    assert h.scalar("SELECT count(*) FROM visits") == office.scalar("SELECT count(*) FROM visits")
    assert got.let_go == 0
    # the other station's laptop holds what it held
    again = sync_with(y, y_url)
    assert again.let_go == 0 and set(_households(y).values()) == {"源园"}
    assert (sync_with(h, h_url).received_total, sync_with(y, y_url).received_total) == (0, 0)

    narrowed = add_station(pg_hub, huaxi, communities=("花溪园",))
    assert (narrowed.gained, narrowed.lost) == (0, 2)
    gone = sync_with(h, h_url)
    assert gone.let_go == 2
    assert set(_households(h).values()) == {"花溪园"}
    assert h.scalar("SELECT count(*) FROM visits WHERE household_id = ?", [ids["源园1"]]) == 0
    assert sync_with(y, y_url).let_go == 0
    # and it goes on: an edit of its own reaches the office
    h.update_household(ids["花溪园1"], phone="13900000001")
    sync_with(h, h_url)
    sync_with(office, pg_hub)
    assert office.scalar("SELECT phone FROM households WHERE id = ?", [ids["花溪园1"]]) == (
        "13900000001"
    )
    # taken off the hub, then given the other 居民区 instead: it swaps them
    remove_station(pg_hub, huaxi)
    add_station(pg_hub, huaxi, communities=("源园",))
    swapped = sync_with(h, h_url)
    assert swapped.let_go == 2
    assert _households(h) == _households(y)
    # a new station's role moves nothing on the laptops of the others
    with psycopg.connect(pg_hub) as conn:
        before = conn.execute("SELECT count(*) FROM moves").fetchone()
        add_station(pg_hub, pg.role_name("new"), communities=("花溪园",))
        assert conn.execute("SELECT count(*) FROM moves").fetchone() == before
    for s in (office, h, y):
        s.close()


def test_a_summary_copy_leaves_out_a_visit_whose_household_the_station_cannot_see(
    tmp_path, pg, pg_hub
):
    """A visit filed under a place its household is not in (a move half
    told, a row written by hand): the station reads the visit but not the
    household.  ``summary --hub`` still works, without that visit."""
    from visitlog.summary import COPY_LEAVES_OUT, READS, compute_summary
    from visitlog.sync.copy import copy_replica

    office, ids = _street(tmp_path, pg_hub)
    huaxi = pg.role_name("huaxi")
    add_station(pg_hub, huaxi, communities=("花溪园",))
    with psycopg.connect(pg_hub) as conn:
        moved = conn.execute(
            "UPDATE rows SET community = '花溪园' WHERE tbl = 'visits' AND household_id = %s",
            [ids["源园1"]],
        ).rowcount
    assert moved == 1
    path = tmp_path / "copy.db"
    copy_replica(pg.url_as(pg_hub, huaxi), path, only=READS, leave_out=COPY_LEAVES_OUT)
    copy = Store(path)
    assert set(_households(copy).values()) == {"花溪园"}
    assert copy.scalar("SELECT count(*) FROM visits") == 2
    assert (
        copy.scalar(
            "SELECT count(*) FROM visits WHERE household_id NOT IN (SELECT id FROM households)"
        )
        == 0
    )
    summary = compute_summary(copy, date_from="2026-11-01", date_to="2026-11-30")
    assert (summary.totals.households, summary.totals.visits) == (2, 2)
    for s in (office, copy):
        s.close()
