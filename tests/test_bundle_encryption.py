"""Encrypted bundles: what a finder of a USB stick sees, and what a laptop refuses.

A bundle is encrypted with the station key (AES-256-GCM, chunk by chunk);
the chunks are tested here against alteration, reordering and truncation
behind a trailer re-signed with the key, so that the encryption itself is
what refuses them, not only the checksum in front of it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_support import content_digest
from station import STATION, bundle_lines, hold_key, old_bundle, old_station_key

from visitlog.model import Household, Visit, VisitlogError
from visitlog.security import bundle_signature
from visitlog.store import StationKey, Store
from visitlog.sync import BundleError, export_bundle, import_bundle
from visitlog.sync.bundle_cipher import Sealer, SealError, new_header, open_frames
from visitlog.sync.bundle_file import MAGIC

NAME, PHONE, ADDRESS, SUMMARY = "王秀英", "13812345678", "兰溪路8号301室", "独居，腿脚不便"


def _laptop(path: Path, worker: str, key: StationKey | None = STATION) -> Path:
    s = Store(path)
    s.init_identity(worker)
    h = s.add_household(
        Household(micro_grid="1号网格", address=ADDRESS, head=NAME, phone=PHONE, tags=["残疾"])
    )
    s.add_visit(Visit(household_id=h.id, visit_date="2026-11-02", visitor=worker, summary=SUMMARY))
    s.close()
    if key is not None:
        hold_key(path, key=key)
    return path


@pytest.fixture
def bundle(tmp_path) -> Path:
    a = _laptop(tmp_path / "a.db", "王丽华")
    dest = tmp_path / "a.bundle"
    with Store(a) as s:
        export_bundle(s, dest)
    return dest


def _receiver(tmp_path: Path, key: StationKey | None = STATION) -> Path:
    path = tmp_path / "b.db"
    s = Store(path)
    s.init_identity("陈静")
    s.close()
    if key is not None:
        hold_key(path, key=key)
    return path


def _import(db: Path, bundle: Path):
    with Store(db) as s:
        return import_bundle(s, bundle)


# -- what a finder sees ---------------------------------------------------------------------------


def test_a_bundle_on_a_stick_shows_no_personal_data(bundle):
    data = bundle.read_bytes()
    carried = b"\n".join(bundle_lines(bundle)).decode()
    # the bundle does carry them (the search below would find them if they were there)
    for secret in (NAME, PHONE, ADDRESS, SUMMARY, "残疾", "王丽华"):
        assert secret in carried
        for encoding in ("utf-8", "gb18030", "utf-16-le"):
            assert secret.encode(encoding) not in data, (secret, encoding)
    # nor compressed: no gzip stream anywhere that inflates to readable text
    start = 0
    while (at := data.find(b"\x1f\x8b", start)) >= 0:
        z = zlib.decompressobj(31)
        try:
            text = z.decompress(data[at:], 1 << 20)
        except zlib.error:
            text = b""
        assert NAME.encode() not in text and PHONE.encode() not in text
        start = at + 1


def test_what_a_finder_can_read_is_the_header_and_the_trailer(bundle):
    data = bundle.read_bytes()
    first, header = data.split(b"\n", 2)[:2]
    assert first + b"\n" == MAGIC
    fields = json.loads(header)
    assert set(fields) == {"cipher", "kdf", "chunk", "key", "salt"}
    assert fields["cipher"] == "AES-256-GCM" and fields["key"] == STATION.fingerprint
    trailer = json.loads(data.rstrip(b"\n").rsplit(b"\n", 1)[1])
    assert set(trailer) == {"sha256", "signature", "key"}


# -- a laptop that cannot or must not open it ----------------------------------------------------


def test_without_the_station_key_one_line_exit_1_and_nothing_applied(bundle, tmp_path, cli):
    cli("init", "--worker", "赵强")
    before = content_digest(cli.db)
    for lang, words in (("zh", "key import"), ("en", "key import")):
        r = cli("--lang", lang, "bundle", "import", str(bundle))
        assert r.exit_code == 1 and "Traceback" not in r.output
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(lines) == 1, r.stderr
        assert words in lines[0] and STATION.fingerprint in lines[0]
    assert content_digest(cli.db) == before
    assert cli.json("household", "list") == []


def test_with_another_stations_key_nothing_is_applied(bundle, tmp_path):
    other = _receiver(tmp_path, StationKey.generate())
    before = content_digest(other)
    with pytest.raises(VisitlogError, match="另一个站点"):
        _import(other, bundle)
    assert content_digest(other) == before


def test_a_laptop_without_a_key_writes_no_bundle(tmp_path, cli):
    cli("init", "--worker", "赵强")
    cli("household", "add", "--address", ADDRESS, "--grid", "1号网格", "--head", NAME)
    dest = tmp_path / "out.bundle"
    for lang, words in (("zh", "key init"), ("en", "key init")):
        r = cli("--lang", lang, "bundle", "export", str(dest))
        assert r.exit_code == 1 and "Traceback" not in r.output
        assert len([x for x in r.stderr.splitlines() if x.strip()]) == 1
        assert words in r.stderr
    assert not dest.exists() and not list(tmp_path.glob(".*.tmp"))
    # once the key is made, the same command writes it
    assert cli("key", "init").exit_code == 0
    assert cli("bundle", "export", str(dest)).exit_code == 0
    assert NAME.encode() not in dest.read_bytes()


def test_the_station_laptop_reads_it(bundle, tmp_path):
    b = _receiver(tmp_path)
    report = _import(b, bundle)
    assert report.received == {"households": 1, "visits": 1}
    assert not report.plain_bundle and report.notes() == []
    with Store(b) as s:
        (h,) = s.list_households()
        assert (h.head, h.phone) == (NAME, PHONE)


# -- the chunks behind a re-signed trailer --------------------------------------------------------


def _parts(path: Path) -> tuple[bytes, list[bytes]]:
    """The header (format and header lines) and the frames of a bundle."""
    data = path.read_bytes()
    end = data.rstrip(b"\n").rfind(b"\n")  # the separator before the trailer
    cut = data.index(b"\n", len(MAGIC)) + 1
    header, rest = data[:cut], data[cut:end]
    frames = []
    while rest:
        n = int.from_bytes(rest[:4], "big")
        frames.append(rest[: 4 + n])
        rest = rest[4 + n :]
    return header, frames


def _resign(path: Path, header: bytes, frames: list[bytes], key: StationKey = STATION) -> Path:
    """A file with these frames and a checksum and signature that match: only the
    encryption of the frames stands between it and the database."""
    body = header + b"".join(frames) + b"\n"
    checksum = hashlib.sha256(body).hexdigest()
    trailer = json.dumps(
        {"sha256": checksum, **bundle_signature(key, checksum)}, separators=(",", ":")
    )
    path.write_bytes(body + trailer.encode() + b"\n")
    return path


def _small_chunks(src: Path, dest: Path, chunk: int = 64) -> Path:
    """The same bundle sealed in chunks of ``chunk`` bytes, so that it has many."""
    plain = zlib.compressobj(6, zlib.DEFLATED, 31)
    stream = plain.compress(b"\n".join(bundle_lines(src)) + b"\n") + plain.flush()
    header = MAGIC + new_header(STATION, chunk)
    sealer = Sealer(STATION, header)
    return _resign(dest, header, [sealer.feed(stream) + sealer.close()])


@pytest.fixture
def chunked(bundle, tmp_path) -> Path:
    path = _small_chunks(bundle, tmp_path / "chunked.bundle")
    assert len(_parts(path)[1]) > 5
    return path


def test_the_resigned_file_itself_goes_in(chunked, tmp_path):
    assert _import(_receiver(tmp_path), chunked).received_total == 2


def _refused(tmp_path: Path, crafted: Path) -> None:
    b = _receiver(tmp_path)
    before = content_digest(b)
    with pytest.raises(BundleError, match="未导入任何内容"):
        _import(b, crafted)
    assert content_digest(b) == before


@pytest.mark.parametrize("where", [0, 1, "middle", -1])
@pytest.mark.parametrize("offset", [4, 20, -1], ids=["first", "inside", "tag"])
def test_a_tampered_ciphertext_is_refused(chunked, tmp_path, where, offset):
    header, frames = _parts(chunked)
    i = len(frames) // 2 if where == "middle" else where
    frame = bytearray(frames[i])
    frame[offset] ^= 0x01
    frames[i] = bytes(frame)
    _refused(tmp_path, _resign(tmp_path / "x.bundle", header, frames))


@pytest.mark.parametrize(
    "how",
    ["swap-two", "drop-last", "drop-middle", "repeat-one", "cut-mid-frame", "append-frame"],
)
def test_reordered_or_truncated_chunks_are_refused(chunked, bundle, tmp_path, how):
    header, frames = _parts(chunked)
    if how == "swap-two":
        frames[1], frames[2] = frames[2], frames[1]
    elif how == "drop-last":
        frames = frames[:-1]
    elif how == "drop-middle":
        del frames[len(frames) // 2]
    elif how == "repeat-one":
        frames.insert(2, frames[1])
    elif how == "cut-mid-frame":
        frames[-1] = frames[-1][:-5]
    else:  # the final frame of another file sealed with the same key
        frames.append(_parts(bundle)[1][-1])
    _refused(tmp_path, _resign(tmp_path / "x.bundle", header, frames))


def test_a_changed_header_is_refused(chunked, tmp_path):
    header, frames = _parts(chunked)
    fields = json.loads(header[len(MAGIC) :])
    fields["chunk"] = 65
    altered = MAGIC + json.dumps(fields, separators=(",", ":")).encode() + b"\n"
    _refused(tmp_path, _resign(tmp_path / "x.bundle", altered, frames))


def test_a_truncated_bundle_is_refused(bundle, tmp_path):
    data = bundle.read_bytes()
    for keep in (len(MAGIC), len(data) // 2, len(data) - 30):
        cut = tmp_path / "cut.bundle"
        cut.write_bytes(data[:keep])
        _refused(tmp_path, cut)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(1, 700))
def test_sealing_and_opening_give_back_the_stream(data, chunk):
    header = MAGIC + new_header(STATION, chunk)
    sealer = Sealer(STATION, header)
    sealed = b""
    for i in range(0, len(data), 97):
        sealed += sealer.feed(data[i : i + 97])
    sealed += sealer.close()
    pieces = list(open_frames(io.BytesIO(sealed).read, len(sealed), STATION, header))
    assert b"".join(pieces) == data
    assert all(len(p) <= chunk for p in pieces)
    other = StationKey.generate()
    with pytest.raises(SealError):
        list(open_frames(io.BytesIO(sealed).read, len(sealed), other, header))


def test_opening_streams_one_chunk_at_a_time():
    """The first chunk comes out after one frame is read, not the whole file."""
    header = MAGIC + new_header(STATION, 1024)
    sealer = Sealer(STATION, header)
    sealed = sealer.feed(bytes(100 * 1024)) + sealer.close()
    asked = []
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        asked.append(n)
        pos += n
        return sealed[pos - n : pos]

    first = next(open_frames(read, len(sealed), STATION, header))
    assert len(first) == 1024 and sum(asked) == 4 + 1024 + 16


# -- bundles written by earlier versions (plain) --------------------------------------------------


def test_an_old_plain_bundle_is_read_with_a_warning(tmp_path, cli):
    plain = old_bundle("plain", tmp_path / "old.bundle")
    assert NAME.encode() in zlib.decompress(plain.read_bytes()[len(MAGIC) :], 31)
    cli("init", "--worker", "赵强")
    r = cli("bundle", "import", str(plain))
    assert r.exit_code == 0, r.output
    assert "没有加密" in r.stderr and "删除" in r.stderr
    assert {h["head"] for h in cli.json("household", "list")} == {NAME, "冯玲建"}
    (entry,) = cli.json("audit", "list", "--action", "bundle.import")
    assert entry["detail"]["plain"] is True
    again = cli("bundle", "import", str(plain), "--json")
    assert json.loads(again.stdout)["plain_bundle"] is True
    en = cli("--lang", "en", "bundle", "import", str(plain))
    assert en.exit_code == 0 and "not encrypted" in en.stderr


def test_an_old_signed_bundle_goes_in_with_its_key_only(tmp_path):
    signed = old_bundle("signed", tmp_path / "old.bundle")
    ours = _receiver(tmp_path, old_station_key())
    report = _import(ours, signed)
    assert report.received_total == 3 and report.plain_bundle
    other = tmp_path / "c.db"
    Store(other).close()
    hold_key(other, key=StationKey.generate())
    before = content_digest(other)
    with pytest.raises(VisitlogError, match="另一个站点"):
        _import(other, signed)
    assert content_digest(other) == before


def test_an_encrypted_bundle_is_not_taken_for_an_old_one(bundle, tmp_path):
    """The format line says which: an encrypted file relabelled as plain is refused."""
    data = bundle.read_bytes()
    relabelled = b"VISITLOG-BUNDLE 1\n" + data[len(MAGIC) :]
    body = relabelled[: relabelled.rstrip(b"\n").rfind(b"\n") + 1]
    checksum = hashlib.sha256(body).hexdigest()
    trailer = {"sha256": checksum, **bundle_signature(STATION, checksum)}
    crafted = tmp_path / "x.bundle"
    crafted.write_bytes(body + json.dumps(trailer, separators=(",", ":")).encode() + b"\n")
    _refused(tmp_path, crafted)
