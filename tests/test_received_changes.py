"""Every received change is checked against the model before anything is applied.

A bundle or a sync carrying one change that does not fit (tags not a list, an
unknown enum value, a stamp ``zzzz``, an id that is no uuid, …) is refused
whole with one line naming the table, the row and the field; nothing is
applied, the listings still work and ``check`` still passes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import rawdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import content_digest
from station import STATION, bundle_lines, seal_bundle

from visitlog.model import (
    SYNCED_FIELDS,
    Category,
    Household,
    Kind,
    Level,
    Mode,
    Occupancy,
    Outcome,
    Role,
    Satisfaction,
    Status,
    Tag,
    VisitlogError,
)
from visitlog.store import StationKey, Store, save_key
from visitlog.sync import export_bundle, import_bundle, sync_with
from visitlog.sync.bundle_file import PLAIN_MAGIC
from visitlog.sync.sqlite import Applier
from visitlog.sync.validate import InvalidChange, check_change


class Cli:
    """``visitlog --db DB …`` run in-process."""

    def __init__(self, db: Path):
        from typer.testing import CliRunner

        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str):
        from visitlog.cli import app

        return self.runner.invoke(app, ["--db", str(self.db), *args])


# -- strategies over the change schema ---------------------------------------------------------

uuids = st.uuids().map(str)
devices = st.text("0123456789abcdef", min_size=12, max_size=12)
stamps = st.builds(
    lambda ms, c: f"{ms:013d}.{c:05d}",
    st.integers(1_600_000_000_000, 1_900_000_000_000),
    st.integers(0, 99_999),
)
dates = st.dates().map(lambda d: d.isoformat())
texts = st.text(max_size=30)
names = st.text(min_size=1, max_size=30).filter(str.strip)


def _enum(cls, optional: bool = False):
    s = st.sampled_from(cls.choices())
    return st.none() | s if optional else s


def _jtext(s):
    return s.map(lambda v: json.dumps(v, ensure_ascii=False))


VALID: dict[str, dict[str, st.SearchStrategy]] = {
    "households": {
        "ref": st.none() | texts,
        "community": st.none() | texts,
        "micro_grid": names,
        "estate": st.none() | texts,
        "address": names,
        "head": st.none() | texts,
        "phone": st.none() | texts,
        "members": st.none() | st.integers(0, 99),
        "occupancy": _enum(Occupancy),
        "tags": _jtext(st.lists(st.sampled_from(Tag.choices()), max_size=3)),
        "note": st.none() | texts,
        "deleted": st.sampled_from([0, 1]),
    },
    "visits": {
        "household_id": uuids,
        "visit_date": dates,
        "visitor": names,
        "role": _enum(Role, True),
        "mode": _enum(Mode),
        "outcome": _enum(Outcome),
        "summary": st.none() | texts,
        "next_due": st.none() | dates,
        "deleted": st.sampled_from([0, 1]),
    },
    "items": {
        "visit_id": uuids,
        "household_id": uuids,
        "kind": _enum(Kind),
        "category": _enum(Category),
        "description": names,
        "level": _enum(Level, True),
        "owner": st.none() | texts,
        "deadline": st.none() | dates,
        "status": _enum(Status),
        "resolution": st.none() | texts,
        "satisfaction": _enum(Satisfaction, True),
        "raised_date": st.none() | dates,
        "closed_date": st.none() | dates,
        "deleted": st.sampled_from([0, 1]),
    },
    "dedup_merges": {
        "kind": st.sampled_from(["households", "visits"]),
        "survivor": uuids,
        "members": _jtext(st.lists(uuids, max_size=3)),
        "score": st.none() | st.floats(0, 1),
        "reasons": _jtext(st.lists(texts, max_size=3)),
        "changes": _jtext(st.dictionaries(st.sampled_from(["households", "visits"]), st.just({}))),
        "worker": st.none() | texts,
        "undone": st.sampled_from([0, 1]),
        "undone_at": st.none() | st.just("2026-10-01T08:00:00+00:00"),
        "twins": st.none() | _jtext(st.dictionaries(uuids, uuids, max_size=2)),
        "deleted": st.sampled_from([0, 1]),
    },
    "address_aliases": {
        "alias": names,
        "target": names,
        "kind": st.sampled_from(["gate", "short"]),
        "scope": texts,
        "status": st.sampled_from(["confirmed", "rejected"]),
        "worker": st.none() | texts,
        "note": st.none() | texts,
        "deleted": st.sampled_from([0, 1]),
    },
    "plan_rules": {
        "kind": st.sampled_from(["default", "tag", "item", "outcome"]),
        "key": st.sampled_from(["", "独居老人", "高龄", "安全隐患", "不在家", "拒访"]),
        "days": st.none() | st.integers(1, 3660),
        "worker": st.none() | texts,
        "note": st.none() | texts,
        "deleted": st.sampled_from([0, 1]),
    },
    "dedup_decisions": {
        "kind": st.sampled_from(["households", "visits"]),
        "a": uuids,
        "b": uuids,
        "decision": st.just("distinct"),
        "worker": st.none() | texts,
        "note": st.none() | texts,
        "deleted": st.sampled_from([0, 1]),
    },
}
assert {k: tuple(v) for k, v in VALID.items()} == {k: tuple(v) for k, v in SYNCED_FIELDS.items()}
alias_ids = st.text("0123456789abcdef", min_size=24, max_size=24).map(lambda h: f"alias-{h}")


rule_ids = st.text("0123456789abcdef", min_size=24, max_size=24).map(lambda h: f"rule-{h}")


def row_ids(tbl: str) -> st.SearchStrategy:
    return {"address_aliases": alias_ids, "plan_rules": rule_ids}.get(tbl, uuids)


# Values that fit no field of their kind.
BAD_TEXT = st.sampled_from([1, 2.5, True, ["x"], {"a": 1}, "长" * 20_001])
BAD_ENUM = st.sampled_from(["zzzz", "", "owner", 3, None, ["自住"]])
BAD_DATE = st.sampled_from(["zzzz", "2026-13-01", "2026-02-30", "26-10-01", 20261001, "2026/10/01"])
BAD_UUID = st.sampled_from(["zzzz", "h1", 7, "0190A000-0000-7000-8000-000000000001", ""])
BAD_FLAG = st.sampled_from([2, -1, "1", None, 0.5, "yes"])
BAD_JSON_LIST = st.sampled_from(
    ['"独居老人"', "独居老人", '{"a": 1}', "[1, 2]", '["zzzz"]', "[", 5, ["独居老人"]]
)


def _bad_for(tbl: str, field: str) -> st.SearchStrategy:
    if field == "deleted" or field == "undone":
        return BAD_FLAG
    if field in ("members",) and tbl == "households":
        return st.sampled_from([-1, 100, "3", 2.5, True])
    if field in ("occupancy", "mode", "outcome", "kind", "category", "status"):
        return BAD_ENUM
    if field in ("role", "level", "satisfaction"):
        return st.sampled_from(["zzzz", 3, ["x"]])
    if field == "decision":
        return st.sampled_from([3, None, "", "x" * 41])
    if field == "key":
        return st.sampled_from(["zzzz", 3, None, ["独居老人"], "见面"])
    if field == "days":
        return st.sampled_from([0, -1, 3661, "30", 2.5, True])
    if field.endswith("_date") or field in ("deadline", "next_due"):
        return BAD_DATE
    if field in ("household_id", "visit_id", "survivor", "a", "b"):
        return BAD_UUID | st.none()
    if field in ("tags", "members", "reasons", "twins", "changes"):
        fits = {"reasons": ['["zzzz"]'], "changes": ['{"a": 1}']}.get(field, [])
        bad = BAD_JSON_LIST.filter(lambda v: v not in fits)
        return bad | st.none() if field in ("tags", "members", "changes") else bad
    if field == "score":
        return st.sampled_from(["0.5", float("nan"), [1]])
    if field == "undone_at":
        return st.sampled_from(["zzzz", 5, "yesterday"])
    if field == "scope":
        return BAD_TEXT | st.none()
    if field in ("micro_grid", "address", "visitor", "description", "alias", "target"):
        return BAD_TEXT | st.sampled_from(["", "   ", None])
    return BAD_TEXT


@st.composite
def valid_changes(draw, op: str | None = None) -> tuple:
    tbl = draw(st.sampled_from(sorted(VALID)))
    op = op or draw(st.sampled_from(["insert", "update"]))
    fields = VALID[tbl]
    if op == "insert":
        data = {f: draw(s) for f, s in fields.items()}
        base = None
    else:
        chosen = draw(st.lists(st.sampled_from(sorted(fields)), min_size=1, unique=True))
        data = {f: draw(fields[f]) for f in chosen}
        base = json.dumps({f: [draw(stamps), draw(devices)] for f in chosen})
    return (
        draw(devices),
        draw(st.integers(1, 10**6)),
        tbl,
        draw(row_ids(tbl)),
        draw(stamps),
        op,
        json.dumps(data, ensure_ascii=False),
        base,
    )


@st.composite
def invalid_changes(draw) -> tuple:
    """A valid change with one thing wrong: a field value, or the frame."""
    ch = list(draw(valid_changes()))
    where = draw(st.sampled_from(["field", "field", "field", "frame"]))
    if where == "frame":
        slot, bad = draw(
            st.sampled_from(
                [
                    (2, "passwords"),
                    (3, "zzzz"),
                    (3, "alias-zz"),
                    (3, 7),
                    (4, "zzzz"),
                    (4, "1760000000000"),
                    (4, None),
                    (0, "zz"),
                    (1, 0),
                    (1, "3"),
                    (5, "drop"),
                    (6, "[]"),
                    (6, "{"),
                    (6, None),
                ]
            )
        )
        ch[slot] = bad
        return tuple(ch)
    data = json.loads(ch[6])
    fld = draw(st.sampled_from(sorted(data)))
    if draw(st.integers(0, 9)) == 0:
        data["no_such_field"] = 1
    else:
        data[fld] = draw(_bad_for(ch[2], fld))
    ch[6] = json.dumps(data, ensure_ascii=False)
    return tuple(ch)


@settings(max_examples=400, deadline=None)
@given(valid_changes())
def test_every_valid_change_passes_the_check(ch):
    check_change(ch)


@settings(max_examples=600, deadline=None)
@given(invalid_changes())
def test_every_invalid_change_is_refused_with_one_line(ch):
    with pytest.raises(InvalidChange) as err:
        check_change(ch)
    line = str(err.value)
    assert "\n" not in line and "\x1b" not in line
    assert "整批拒收" in line


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recv") / "r.db"
    s = Store(path)
    s.init_identity("陈静")
    s.add_household(Household(micro_grid="1号网格", address="兰溪路1号"))
    s.close()
    return path


def _receive(db: Path, batch: list[tuple]) -> int:
    with Store(db) as s, s.transaction() as tx:
        applier = Applier(tx)
        n = applier.add(batch)
        applier.finish()
        return n


# References and tombstones make rows agree with each other, which is not the
# change check's business (a tombstoned visit keeping a live item is for check).
_REFS = {"household_id", "visit_id", "survivor", "a", "b", "members", "twins", "deleted"}


@st.composite
def coherent_batches(draw) -> list[tuple]:
    """Valid inserts of a household, a visit of it and an item of that visit, a
    dedup record, then valid edits of their other fields: one device, in order."""
    dev = draw(devices)
    rows: list[tuple[str, str, dict]] = []
    hid, vid, iid, mid = draw(st.lists(uuids, min_size=4, max_size=4, unique=True))
    for tbl, rid, refs in (
        ("households", hid, {}),
        ("visits", vid, {"household_id": hid}),
        ("items", iid, {"household_id": hid, "visit_id": vid}),
        (
            (
                extra := draw(
                    st.sampled_from(["dedup_merges", "dedup_decisions", "address_aliases"])
                )
            ),
            draw(alias_ids) if extra == "address_aliases" else mid,
            {"survivor": hid, "members": "[]", "a": hid, "b": vid, "twins": None},
        ),
    ):
        data = {f: draw(s) for f, s in VALID[tbl].items()}
        data.update({f: v for f, v in refs.items() if f in data}, deleted=0)
        rows.append((tbl, rid, data))
    batch = []
    seq = 0
    for tbl, rid, data in rows:
        seq += 1
        batch.append((dev, seq, tbl, rid, draw(stamps), "insert", json.dumps(data), None))
    for _ in range(draw(st.integers(0, 4))):
        tbl, rid, _data = draw(st.sampled_from(rows))
        editable = sorted(set(VALID[tbl]) - _REFS)
        chosen = draw(st.lists(st.sampled_from(editable), min_size=1, unique=True))
        data = {f: draw(VALID[tbl][f]) for f in chosen}
        base = {f: [draw(stamps), draw(devices)] for f in chosen}
        seq += 1
        batch.append(
            (dev, seq, tbl, rid, draw(stamps), "update", json.dumps(data), json.dumps(base))
        )
    return batch


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(coherent_batches(), st.data())
def test_every_valid_batch_is_applied(tmp_path, receiver, batch, data):
    db = tmp_path / f"{data.draw(uuids)}.db"
    db.write_bytes(receiver.read_bytes())
    assert _receive(db, batch) == len(batch)
    with Store(db) as s:
        for ch in batch:
            row = s.conn.execute(f"SELECT id FROM {ch[2]} WHERE id = ?", [ch[3]]).fetchone()
            assert row is not None
        held = s.conn.execute("SELECT count(*) FROM change_log WHERE device = ?", [batch[0][0]])
        assert held.fetchone()[0] == len(batch)
        assert s.check() == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(coherent_batches(), invalid_changes(), st.data())
def test_a_batch_with_one_invalid_change_applies_nothing(tmp_path, receiver, good, bad, data):
    db = tmp_path / f"{data.draw(uuids)}.db"
    db.write_bytes(receiver.read_bytes())
    before = content_digest(db)
    at = data.draw(st.integers(0, len(good)))
    # the invalid change in the stream where a valid one would be (same device, next seq)
    dev = good[0][0]
    frame_ok = isinstance(bad[0], str) and len(bad[0]) == 12 and type(bad[1]) is int and bad[1] > 0
    wrong = (dev, at + 1, *bad[2:]) if frame_ok else bad
    batch = [(dev, i, *ch[2:]) for i, ch in enumerate(good, 1)]
    batch = [
        *batch[:at],
        wrong,
        *((dev, i + 1, *ch[2:]) for i, ch in enumerate(batch[at:], at + 1)),
    ]
    with pytest.raises(InvalidChange):
        _receive(db, batch)
    assert content_digest(db) == before


# -- the attempts, replayed through bundles and sync -------------------------------------------


def _laptop(path: Path, worker: str, key: StationKey | None = None) -> Path:
    s = Store(path)
    s.init_identity(worker)
    s.add_household(Household(micro_grid="1号网格", address=f"兰溪路8号{worker}室", tags=["高龄"]))
    s.close()
    if key is not None:
        save_key(path, key)
    return path


def rewrite_bundle(
    src: Path,
    dest: Path,
    edit: Callable[[list], None],
    key: StationKey | None = None,
    src_key: StationKey = STATION,
) -> Path:
    """A bundle whose changes ``edit`` altered: encrypted and signed with ``key``,
    or without one written as an earlier visitlog wrote bundles (plain,
    unsigned), which a laptop without a key still reads."""
    lines = bundle_lines(src, src_key)
    changes = [json.loads(x) for x in lines[1:-1]]
    edit(changes)
    out = [lines[0], *(json.dumps(c, ensure_ascii=False).encode() for c in changes), lines[-1]]
    if key is not None:
        return seal_bundle(dest, out, key)
    out[0] = out[0].replace(b'"version":2,', b'"version":1,', 1)
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    body = PLAIN_MAGIC + z.compress(b"\n".join(out) + b"\n") + z.flush() + b"\n"
    checksum = hashlib.sha256(body).hexdigest()
    trailer = json.dumps({"sha256": checksum, "signature": None}, separators=(",", ":"))
    dest.write_bytes(body + trailer.encode() + b"\n")
    return dest


def _set(field: str, value) -> Callable[[list], None]:
    def edit(changes: list) -> None:
        for ch in changes:
            if ch[2] == "households":
                data = json.loads(ch[6])
                data[field] = value
                ch[6] = json.dumps(data, ensure_ascii=False)

    return edit


def _stamp(value: str) -> Callable[[list], None]:
    def edit(changes: list) -> None:
        changes[0][4] = value

    return edit


ATTEMPTS = {
    "tags not a list": (_set("tags", "独居老人"), "tags"),
    "tags a JSON string": (_set("tags", '"独居老人"'), "tags"),
    "unknown enum": (_set("occupancy", "zzzz"), "occupancy"),
    "stamp zzzz": (_stamp("zzzz"), "hlc"),
    "members a word": (_set("members", "three"), "members"),
}


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize("attempt", sorted(ATTEMPTS))
def test_the_issue_attempts_are_refused_whole_through_the_cli(tmp_path, attempt, keyed):
    key = StationKey.generate() if keyed else None
    a = _laptop(tmp_path / "a.db", "王丽华", key or STATION)
    b = _laptop(tmp_path / "b.db", "陈静", key)
    good = tmp_path / "a.bundle"
    with Store(a) as s:
        export_bundle(s, good)
    edit, field = ATTEMPTS[attempt]
    # unkeyed: a plain bundle of an earlier visitlog, read by a laptop without a key
    bad = rewrite_bundle(good, tmp_path / "bad.bundle", edit, key, key or STATION)
    if not keyed:
        good = rewrite_bundle(good, tmp_path / "good.bundle", lambda changes: None, None)
    before = content_digest(b)
    cli = Cli(b)
    result = cli("bundle", "import", str(bad))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "households" in lines[0] and field in lines[0] and "未做任何改动" in lines[0]
    assert content_digest(b) == before
    listing = cli("household", "list", "--json")
    assert listing.exit_code == 0
    assert [h["address"] for h in json.loads(listing.stdout)] == ["兰溪路8号陈静室"]
    assert cli("check").exit_code == 0
    en = cli("--lang", "en", "bundle", "import", str(bad))
    assert en.exit_code == 1 and "nothing was changed" in en.output
    # the untouched bundle still imports
    assert cli("bundle", "import", str(good)).exit_code == 0


def test_an_invalid_change_in_a_laptop_is_refused_by_the_hub(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华")
    hub = tmp_path / "hub.db"
    with Store(a) as s:
        sync_with(s, hub)
    c = _laptop(tmp_path / "c.db", "李明")
    # A damaged laptop: one of its logged changes says tags is not a list
    # (an insert kept by its row reads it there).
    conn = rawdb.connect(c)
    conn.execute("UPDATE households SET tags = 'zzzz'")
    conn.execute(
        "UPDATE changes SET data = json_set(data, '$.tags', 'zzzz') "
        "WHERE tbl = 'households' AND data <> ''"
    )
    conn.commit()
    conn.close()
    before = content_digest(hub)
    result = Cli(c)("sync", str(hub))
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "tags" in result.output and "households" in result.output
    assert content_digest(hub) == before
    assert Cli(hub)("check").exit_code == 0
    # and a laptop syncing from the hub still gets only good changes
    with Store(a) as s:
        report = sync_with(s, hub)
    assert report.received_total == 0


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "encrypted"])
def test_a_valid_bundle_rewritten_unchanged_still_imports(tmp_path, keyed):
    """The rewriting helper itself makes bundles the importer accepts."""
    a = _laptop(tmp_path / "a.db", "王丽华", STATION)
    b = _laptop(tmp_path / "b.db", "陈静", STATION if keyed else None)
    good = tmp_path / "a.bundle"
    with Store(a) as s:
        export_bundle(s, good)
    key = STATION if keyed else None
    same = rewrite_bundle(good, tmp_path / "same.bundle", lambda changes: None, key)
    with Store(b) as s:
        assert import_bundle(s, same).received_total == 1


def test_an_unknown_table_names_it(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华", STATION)
    b = _laptop(tmp_path / "b.db", "陈静", STATION)
    good = tmp_path / "a.bundle"
    with Store(a) as s:
        export_bundle(s, good)

    def edit(changes):
        changes[0][2] = "settings"

    bad = rewrite_bundle(good, tmp_path / "bad.bundle", edit, STATION)
    with Store(b) as s, pytest.raises(VisitlogError) as err:
        import_bundle(s, bad)
    assert "settings" in str(err.value) and "未知的数据表" in str(err.value)
