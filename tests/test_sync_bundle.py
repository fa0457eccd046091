"""Bundles: manifest, checksum, encryption, and refusal of anything not whole and unaltered."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from station import STATION, bundle_lines, hold_key, seal_bundle

from visitlog.model import Household, Visit, VisitlogError
from visitlog.store import Store
from visitlog.sync import BundleError, export_bundle, import_bundle, read_manifest, sync_with
from visitlog.sync.bundle_file import MAGIC


def state(store: Store) -> tuple:
    """Everything an import could touch."""
    counts = [
        store.scalar(f"SELECT count(*) FROM {tbl}")
        for tbl in ("changes", "households", "visits", "items", "conflicts", "audit", "peers")
    ]
    return (*counts, store.scalar("SELECT max(hlc) FROM change_log"), store.settings())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A source database, its full bundle and an empty receiver, made once per module."""
    d = tmp_path_factory.mktemp("bundle-template")
    s = Store(d / "src.db")
    s.init_identity("张三", "laptop-A")
    for n in range(30):
        hid = s.add_household(Household(address=f"曹杨一村{n}号101室", micro_grid="一网格")).id
        s.add_visit(Visit(household_id=hid, visit_date="2026-11-01", visitor="张三", summary="好"))
    hold_key(d / "src.db", d / "dst.db")
    export_bundle(s, d / "out.vlb")
    r = Store(d / "dst.db")
    r.init_identity("李四", "laptop-B")
    for db in (s, r):
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    return d


def _copy(template: Path, name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    dest.write_bytes((template / name).read_bytes())
    if name.endswith(".db"):
        hold_key(dest)
    return dest


@pytest.fixture
def source(template: Path, tmp_path: Path) -> Store:
    s = Store(_copy(template, "src.db", tmp_path))
    yield s
    s.close()


@pytest.fixture
def bundle(template: Path, tmp_path: Path) -> Path:
    return _copy(template, "out.vlb", tmp_path)


@pytest.fixture
def receiver(template: Path, tmp_path: Path) -> Store:
    s = Store(_copy(template, "dst.db", tmp_path))
    yield s
    s.close()


def test_manifest_describes_the_content(source, bundle):
    m = read_manifest(bundle, STATION)
    assert (m["format"], m["version"]) == ("visitlog-bundle", 2)
    assert m["source"]["device"] == source.device_id
    assert m["devices"] == {source.device_id: [1, 60]}
    assert m["counts"] == {"households": 30, "visits": 30}
    assert m["total"] == 60
    assert m["schema_version"] == source.schema_version
    trailer = json.loads(bundle.read_bytes().rsplit(b"\n", 2)[1])
    assert set(trailer) == {"sha256", "signature", "key"}
    assert trailer["key"] == STATION.fingerprint


def test_import_applies_everything_once(source, bundle, receiver):
    report = import_bundle(receiver, bundle)
    assert report.received == {"households": 30, "visits": 30}
    assert len(receiver.list_visits()) == 30
    before = state(receiver)
    again = import_bundle(receiver, bundle)
    assert again.received_total == 0
    assert state(receiver) == before


def test_export_is_deterministic_apart_from_time(source, tmp_path):
    a, b = tmp_path / "a.vlb", tmp_path / "b.vlb"
    export_bundle(source, a)
    export_bundle(source, b)
    strip = [json.loads(x) for x in _lines(a)[1:]], [json.loads(x) for x in _lines(b)[1:]]
    assert strip[0] == strip[1]
    # each file has a key of its own: the same content is sealed differently
    assert a.read_bytes()[len(MAGIC) + 200 :] != b.read_bytes()[len(MAGIC) + 200 :]


def _lines(path: Path) -> list[bytes]:
    return bundle_lines(path)


def _regions(path: Path) -> dict[str, range]:
    """Byte ranges of the file: format line, header line, frames, separator, checksum line."""
    data = path.read_bytes()
    trailer_start = data.rstrip(b"\n").rfind(b"\n") + 1
    frames_end = trailer_start - 1
    header_end = data.index(b"\n", len(MAGIC)) + 1
    return {
        "magic": range(0, len(MAGIC)),
        "header": range(len(MAGIC), header_end),
        "frame-length": range(header_end, header_end + 4),
        "frames": range(header_end + 4, frames_end),
        "separator": range(frames_end, trailer_start),
        "checksum": range(trailer_start, len(data)),
    }


@pytest.mark.parametrize(
    "region", ["magic", "header", "frame-length", "frames", "separator", "checksum"]
)
@pytest.mark.parametrize("where", [0.0, 0.5, 0.99])
def test_one_altered_byte_anywhere_is_refused_with_nothing_applied(bundle, receiver, region, where):
    span = _regions(bundle)[region]
    pos = span[int(where * (len(span) - 1))]
    data = bytearray(bundle.read_bytes())
    data[pos] ^= 0x01
    bundle.write_bytes(bytes(data))
    before = state(receiver)
    with pytest.raises(VisitlogError, match="未导入任何内容"):
        import_bundle(receiver, bundle)
    assert state(receiver) == before


@pytest.mark.parametrize("keep", [0, 5, len(MAGIC) + 3, 0.5, -40, -1])
def test_truncated_bundle_is_refused(bundle, receiver, keep):
    data = bundle.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    bundle.write_bytes(data[:n])
    before = state(receiver)
    with pytest.raises(VisitlogError):
        import_bundle(receiver, bundle)
    assert state(receiver) == before


def test_appended_junk_is_refused(bundle, receiver):
    bundle.write_bytes(bundle.read_bytes() + b"extra")
    with pytest.raises(BundleError):
        import_bundle(receiver, bundle)
    assert receiver.scalar("SELECT count(*) FROM change_log") == 0


def _reseal(path: Path, lines: list[bytes]) -> None:
    """Write a bundle with the given lines, encrypted and signed with the key (a crafted file)."""
    seal_bundle(path, lines)


def test_consistent_checksum_but_inconsistent_content_is_refused(bundle, receiver):
    lines = _lines(bundle)
    _reseal(bundle, [lines[0], *lines[2:]])  # a change left out, manifest unchanged
    with pytest.raises(BundleError, match="未导入任何内容"):
        import_bundle(receiver, bundle)
    assert receiver.scalar("SELECT count(*) FROM change_log") == 0


def test_bundle_from_a_newer_visitlog_names_the_version(bundle, receiver):
    lines = _lines(bundle)
    manifest = json.loads(lines[0])
    manifest["manifest"]["schema_version"] = 999
    manifest["manifest"]["app_version"] = "3.1.4"
    _reseal(bundle, [json.dumps(manifest, ensure_ascii=False).encode(), *lines[1:]])
    with pytest.raises(BundleError, match=r"3\.1\.4"):
        import_bundle(receiver, bundle)


def test_bundle_with_unknown_fields_is_refused(bundle, receiver):
    lines = _lines(bundle)
    manifest = json.loads(lines[0])
    manifest["manifest"]["fields"]["visits"].append("mood")
    _reseal(bundle, [json.dumps(manifest, ensure_ascii=False).encode(), *lines[1:]])
    with pytest.raises(BundleError, match="更新版本"):
        import_bundle(receiver, bundle)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello\n", b"PK\x03\x04zipfile", gzip.compress(b'{"manifest":{}}\n')],
    ids=["empty", "text", "zip", "plain-gzip"],
)
def test_foreign_files_are_refused(tmp_path, receiver, content):
    path = tmp_path / "x.vlb"
    path.write_bytes(content)
    with pytest.raises(BundleError, match="不是 visitlog 同步包"):
        import_bundle(receiver, path)


def test_a_database_is_not_a_bundle(source, receiver):
    # Open in this process: not even its header is read (closing that
    # descriptor would drop the locks of the connection that has it open).
    with pytest.raises(VisitlogError, match="正在使用"):
        import_bundle(receiver, source.path)
    source.close()
    with pytest.raises(BundleError, match="visitlog sync"):
        import_bundle(receiver, source.path)


def test_missing_bundle(tmp_path, receiver):
    with pytest.raises(VisitlogError, match="不存在"):
        import_bundle(receiver, tmp_path / "nope.vlb")


def test_export_for_a_peer_holds_only_what_it_lacks(source, tmp_path):
    hub = tmp_path / "hub.db"
    sync_with(source, hub)
    hid = source.add_household(Household(address="新的1号", micro_grid="一网格")).id
    out = tmp_path / "delta.vlb"
    info = export_bundle(source, out, for_peer=str(hub))
    # the source is a copy of the template's file, so it numbers its own
    # changes under a device id of its own, from 1 (visitlog.store.identity)
    assert info.total == 1 and info.devices == {source.device_id: [1, 1]}
    hold_key(hub)  # the office laptop that imports it holds the key
    with Store(hub) as h:
        import_bundle(h, out)
        assert h.get_household(hid).address == "新的1号"
    by_id = export_bundle(source, tmp_path / "d2.vlb", for_peer=info.for_peer[:6])
    assert by_id.for_peer == info.for_peer
    with pytest.raises(VisitlogError, match="不认识"):
        export_bundle(source, tmp_path / "d3.vlb", for_peer="somebody-else")


def test_failed_export_leaves_no_file(source, tmp_path):
    with pytest.raises(VisitlogError, match="不存在"):
        export_bundle(source, tmp_path / "missing-dir" / "x.vlb")
    with pytest.raises(VisitlogError, match="文件夹"):
        export_bundle(source, tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))
