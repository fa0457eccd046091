"""Signed bundles and station-bound hubs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_support import content_digest, live_counts
from station import old_bundle

from visitlog.model import Household, VisitlogError
from visitlog.security import STATION_SETTING
from visitlog.store import StationKey, Store, key_path, save_key
from visitlog.sync import export_bundle, import_bundle, sync_with


def _laptop(path: Path, worker: str, key: StationKey | None, households: int = 2) -> Path:
    s = Store(path)
    s.init_identity(worker)
    for i in range(households):
        s.add_household(Household(micro_grid="1号网格", address=f"兰溪路{i + 1}号{worker}室"))
    s.close()
    if key is not None:
        save_key(path, key)
    return path


def _trailer(bundle: Path) -> dict:
    return json.loads(bundle.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[1])


@pytest.fixture
def station() -> StationKey:
    return StationKey.generate()


@pytest.fixture
def signed_bundle(tmp_path, station) -> Path:
    a = _laptop(tmp_path / "a.db", "王丽华", station)
    dest = tmp_path / "a.bundle"
    with Store(a) as s:
        export_bundle(s, dest)
    return dest


def _import(db: Path, bundle: Path):
    with Store(db) as s:
        return import_bundle(s, bundle)


# -- bundles ------------------------------------------------------------------------------------


def test_a_keyed_replica_signs_its_bundles(signed_bundle, station):
    trailer = _trailer(signed_bundle)
    assert trailer["key"] == station.fingerprint
    assert len(trailer["signature"]) == 64


def test_a_laptop_of_the_same_station_imports_a_signed_bundle(tmp_path, signed_bundle, station):
    b = _laptop(tmp_path / "b.db", "陈静", station)
    report = _import(b, signed_bundle)
    assert report.received_total > 0
    assert live_counts(b)["households"] == 4


def test_a_bundle_signed_with_another_key_is_refused_whole(tmp_path, signed_bundle, station):
    c = _laptop(tmp_path / "c.db", "李明", StationKey.generate())
    before = content_digest(c)
    with pytest.raises(VisitlogError) as err:
        _import(c, signed_bundle)
    assert "另一个站点" in str(err.value) and station.fingerprint in str(err.value)
    assert content_digest(c) == before


def test_an_unsigned_bundle_is_refused_by_a_keyed_replica(tmp_path, station):
    """An unsigned bundle (written by an earlier visitlog on a laptop without a key)."""
    bundle = old_bundle("plain", tmp_path / "d.bundle")
    assert _trailer(bundle)["signature"] is None
    b = _laptop(tmp_path / "b.db", "陈静", station)
    before = content_digest(b)
    with pytest.raises(VisitlogError) as err:
        _import(b, bundle)
    assert "没有签名" in str(err.value)
    assert content_digest(b) == before


def test_a_replica_without_a_key_cannot_open_a_bundle(tmp_path, signed_bundle, station):
    d = _laptop(tmp_path / "d.db", "赵强", None)
    before = content_digest(d)
    with pytest.raises(VisitlogError) as err:
        _import(d, signed_bundle)
    assert "key import" in str(err.value) and station.fingerprint in str(err.value)
    assert content_digest(d) == before
    with Store(d) as s, pytest.raises(VisitlogError, match="key init"):
        export_bundle(s, tmp_path / "d.bundle")
    assert not (tmp_path / "d.bundle").exists()


def test_every_single_byte_change_of_a_signed_bundle_is_refused(tmp_path, signed_bundle, station):
    """Flip each byte in turn: the keyed replica refuses every one, applying nothing."""
    b = _laptop(tmp_path / "b.db", "陈静", station, households=0)
    before = content_digest(b)
    data = signed_bundle.read_bytes()
    altered = tmp_path / "altered.bundle"
    refused = 0
    with Store(b) as s:
        for i in range(len(data)):
            altered.write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :])
            with pytest.raises(VisitlogError):
                import_bundle(s, altered)
            refused += 1
    assert refused == len(data)
    assert content_digest(b) == before
    # and the unaltered file still goes in
    assert _import(b, signed_bundle).received_total > 0


def test_a_forged_signature_is_refused(tmp_path, signed_bundle, station):
    """Right fingerprint, wrong signature (made without the key)."""
    body, trailer_line = signed_bundle.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)
    trailer = json.loads(trailer_line)
    trailer["signature"] = "0" * 64
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(body + b"\n" + json.dumps(trailer).encode() + b"\n")
    b = _laptop(tmp_path / "b.db", "陈静", station)
    with pytest.raises(VisitlogError) as err:
        _import(b, forged)
    assert "签名不符" in str(err.value)


def test_bundle_import_refusals_through_the_cli(tmp_path, signed_bundle, cli):
    from visitlog.store import StationKey as K

    save_key(cli.db, K.generate())
    r = cli("--lang", "en", "bundle", "import", str(signed_bundle))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "another station" in r.stderr


# -- hubs ---------------------------------------------------------------------------------------


def test_a_hub_records_its_station_and_refuses_another(tmp_path, station):
    hub = tmp_path / "hub.db"
    a = _laptop(tmp_path / "a.db", "王丽华", station)
    with Store(a) as s:
        sync_with(s, hub)
    with Store(hub) as h:
        assert h.get_setting(STATION_SETTING) == station.fingerprint
    assert not key_path(hub).exists()  # the hub never holds the key itself

    b = _laptop(tmp_path / "b.db", "陈静", station)
    with Store(b) as s:
        sync_with(s, hub)
    assert live_counts(b)["households"] == 4

    other = StationKey.generate()
    c = _laptop(tmp_path / "c.db", "李明", other)
    before = (content_digest(c), content_digest(hub))
    with Store(c) as s, pytest.raises(VisitlogError) as err:
        sync_with(s, hub)
    assert "另一个站点" in str(err.value)
    assert station.fingerprint in str(err.value) and other.fingerprint in str(err.value)
    assert (content_digest(c), content_digest(hub)) == before


def test_a_laptop_without_the_key_is_told_to_import_it(tmp_path, station, cli):
    hub = tmp_path / "hub.db"
    a = _laptop(tmp_path / "a.db", "王丽华", station)
    with Store(a) as s:
        sync_with(s, hub)
    cli("init", "--worker", "赵强")
    before = (content_digest(cli.db), content_digest(hub))
    r = cli("sync", str(hub))
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "key import" in r.stderr and station.fingerprint in r.stderr
    assert (content_digest(cli.db), content_digest(hub)) == before
    # after importing the key the same sync goes through
    assert cli("key", "import", "-", input=station.to_line()).exit_code == 0
    assert cli("sync", str(hub)).exit_code == 0


def test_two_laptops_with_different_keys_do_not_sync(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华", StationKey.generate())
    b = _laptop(tmp_path / "b.db", "陈静", StationKey.generate())
    before = (content_digest(a), content_digest(b))
    with Store(a) as s, pytest.raises(VisitlogError):
        sync_with(s, b)
    assert (content_digest(a), content_digest(b)) == before


def test_keyless_replicas_sync_as_before(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华", None)
    hub = tmp_path / "hub.db"
    with Store(a) as s:
        sync_with(s, hub)
    with Store(hub) as h:
        assert h.get_setting(STATION_SETTING) is None
        assert h.count_live()["households"] == 2
