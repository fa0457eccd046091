"""Decompression bombs: bundles and XLSX rosters refused quickly, in little memory.

The bombs are made in the test: a deflate block of 1 MB of zeros, fully
flushed, is the same few bytes every time, so a 3 MB bomb that inflates to
about 3 GB is written in a moment.  Memory is bounded with tracemalloc (every
bytes object zlib and zipfile return is a Python allocation).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from reliability_support import content_digest
from station import STATION, bundle_lines

from visitlog.model import Household, VisitlogError
from visitlog.roster import open_table
from visitlog.store import StationKey, Store, save_key
from visitlog.sync import export_bundle, import_bundle

#: The bombs are bundles as earlier versions wrote them (plain, unsigned),
#: which a laptop without a key still reads; an encrypted bomb is below.
MAGIC = b"VISITLOG-BUNDLE 1\n"
MB = 1 << 20


def _deflate_zeros(compressed_mb: float, wbits: int) -> bytes:
    """A deflate stream (gzip with wbits 31, raw with -15) of zeros about this size."""
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = z.compress(b"\0" * MB) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(b"\0" * MB) + z.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor starts over, so each further MB of
    # zeros compresses to the same bytes.
    return head + block * int(compressed_mb * MB / len(block))


def _bundle_bomb(path: Path, manifest_line: bytes, compressed_mb: float) -> Path:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    plain = manifest_line.replace(b'"version":2,', b'"version":1,', 1)
    assert plain != manifest_line
    start = z.compress(plain) + z.flush(zlib.Z_FULL_FLUSH)
    # the gzip header of a second stream is cut: the zeros continue the first one
    rest = _deflate_zeros(compressed_mb, -15)
    body = MAGIC + start + rest + b"\n"
    checksum = hashlib.sha256(body).hexdigest()
    trailer = json.dumps({"sha256": checksum, "signature": None}, separators=(",", ":"))
    path.write_bytes(body + trailer.encode() + b"\n")
    return path


def _laptop(path: Path, worker: str, key: StationKey | None = None) -> Path:
    s = Store(path)
    s.init_identity(worker)
    s.add_household(Household(micro_grid="1号网格", address=f"兰溪路8号{worker}室"))
    s.close()
    if key is not None:
        save_key(path, key)
    return path


@pytest.fixture
def manifest_line(tmp_path) -> bytes:
    """The first line of a real bundle, so the bomb passes every check before inflation."""
    a = _laptop(tmp_path / "src.db", "王丽华", STATION)
    real = tmp_path / "real.bundle"
    with Store(a) as s:
        export_bundle(s, real)
    return bundle_lines(real)[0] + b"\n"


def _bounded(fn) -> tuple[BaseException | None, float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        fn()
        err = None
    except Exception as exc:  # the refusal is what is measured
        err = exc
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return err, elapsed, peak


def test_a_3mb_gzip_bomb_bundle_is_refused_quickly_in_little_memory(tmp_path, manifest_line):
    bomb = _bundle_bomb(tmp_path / "bomb.bundle", manifest_line, 3)
    assert 2.5 * MB < bomb.stat().st_size < 4 * MB
    b = _laptop(tmp_path / "b.db", "陈静")
    before = content_digest(b)
    with Store(b) as s:
        err, elapsed, peak = _bounded(lambda: import_bundle(s, bomb))
    assert isinstance(err, VisitlogError)
    assert "可能是恶意文件" in str(err) and "\n" not in str(err)
    assert elapsed < 5, elapsed
    assert peak < 64 * MB, peak
    assert content_digest(b) == before


def test_a_bomb_in_one_endless_line_is_cut_at_the_line_limit(tmp_path, manifest_line):
    """Zeros hold no newline: the line limit refuses before the ratio does."""
    bomb = _bundle_bomb(tmp_path / "bomb.bundle", manifest_line, 0.05)
    b = _laptop(tmp_path / "b.db", "陈静")
    with Store(b) as s:
        err, _elapsed, peak = _bounded(lambda: import_bundle(s, bomb))
    assert isinstance(err, VisitlogError) and "MB" in str(err)
    assert peak < 64 * MB, peak


def test_a_keyed_replica_refuses_an_unsigned_bomb_before_inflating(
    tmp_path, manifest_line, monkeypatch
):
    key = StationKey.generate()
    bomb = _bundle_bomb(tmp_path / "bomb.bundle", manifest_line, 3)
    b = _laptop(tmp_path / "b.db", "陈静", key)
    inflated = []
    real = zlib.decompressobj
    monkeypatch.setattr(
        "visitlog.sync.bundle_file.zlib.decompressobj", lambda *a: inflated.append(a) or real(*a)
    )
    with Store(b) as s, pytest.raises(VisitlogError) as err:
        import_bundle(s, bomb)
    assert "签名" in str(err.value)
    assert inflated == []


def _sealed_bomb(path: Path, manifest_line: bytes, compressed_mb: float) -> Path:
    """A bomb made by a holder of the station key: encrypted and signed, so it
    passes every check before inflation; streamed through the decryption."""
    from visitlog.security import bundle_signature
    from visitlog.sync.bundle_cipher import Sealer, new_header
    from visitlog.sync.bundle_file import MAGIC as SEALED

    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream = z.compress(manifest_line) + z.flush(zlib.Z_FULL_FLUSH)
    stream += _deflate_zeros(compressed_mb, -15)
    header = SEALED + new_header(STATION)
    sealer = Sealer(STATION, header)
    body = header + sealer.feed(stream) + sealer.close() + b"\n"
    checksum = hashlib.sha256(body).hexdigest()
    trailer = json.dumps(
        {"sha256": checksum, **bundle_signature(STATION, checksum)}, separators=(",", ":")
    )
    path.write_bytes(body + trailer.encode() + b"\n")
    return path


def test_an_encrypted_3mb_bomb_is_refused_quickly_in_little_memory(tmp_path, manifest_line):
    bomb = _sealed_bomb(tmp_path / "bomb.bundle", manifest_line, 3)
    assert 2.5 * MB < bomb.stat().st_size < 4 * MB
    b = _laptop(tmp_path / "b.db", "陈静", STATION)
    before = content_digest(b)
    with Store(b) as s:
        err, elapsed, peak = _bounded(lambda: import_bundle(s, bomb))
    assert isinstance(err, VisitlogError), err
    assert "可能是恶意文件" in str(err) and "\n" not in str(err)
    assert elapsed < 5, elapsed
    assert peak < 64 * MB, peak
    assert content_digest(b) == before


def _xlsx_bomb(path: Path, compressed_mb: float) -> Path:
    """A real workbook with one more part: zeros, about 1000 times its size once inflated."""
    wb = openpyxl.Workbook()
    wb.active.append(["地址", "微网格"])
    wb.active.append(["兰溪路1号", "1号网格"])
    small = io.BytesIO()
    wb.save(small)
    zeros = _deflate_zeros(compressed_mb, -15)
    size = MB * (1 + (len(zeros) - _head_len()) // _block_len())
    crc = 0
    for _ in range(size // MB):
        crc = zlib.crc32(b"\0" * MB, crc)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    return _append_part(path, small.getvalue(), zeros + final, size, crc)


def _head_len() -> int:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    return len(z.compress(b"\0" * MB) + z.flush(zlib.Z_FULL_FLUSH))


def _block_len() -> int:
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    z.compress(b"\0" * MB)
    z.flush(zlib.Z_FULL_FLUSH)
    return len(z.compress(b"\0" * MB) + z.flush(zlib.Z_FULL_FLUSH))


def _append_part(path: Path, buf: bytes, stream: bytes, size: int, crc: int) -> Path:
    """A zip with one more part, a hand-made deflate stream (local header, data, directory)."""
    eocd = buf.rfind(b"PK\x05\x06")
    cd_offset = int.from_bytes(buf[eocd + 16 : eocd + 20], "little")
    cd_size = int.from_bytes(buf[eocd + 12 : eocd + 16], "little")
    count = int.from_bytes(buf[eocd + 10 : eocd + 12], "little")
    central = buf[cd_offset : cd_offset + cd_size]
    name = b"xl/media/padding.bin"
    offset = cd_offset
    local = (
        b"PK\x03\x04"
        + (20).to_bytes(2, "little")
        + (0).to_bytes(2, "little")
        + (8).to_bytes(2, "little")
        + (0).to_bytes(4, "little")
        + crc.to_bytes(4, "little")
        + len(stream).to_bytes(4, "little")
        + size.to_bytes(4, "little")
        + len(name).to_bytes(2, "little")
        + (0).to_bytes(2, "little")
        + name
    )
    entry = (
        b"PK\x01\x02"
        + (20).to_bytes(2, "little")
        + (20).to_bytes(2, "little")
        + (0).to_bytes(2, "little")
        + (8).to_bytes(2, "little")
        + (0).to_bytes(4, "little")
        + crc.to_bytes(4, "little")
        + len(stream).to_bytes(4, "little")
        + size.to_bytes(4, "little")
        + len(name).to_bytes(2, "little")
        + (0).to_bytes(2, "little") * 3
        + (0).to_bytes(2, "little")
        + (0).to_bytes(4, "little")
        + offset.to_bytes(4, "little")
        + name
    )
    new_cd_offset = offset + len(local) + len(stream)
    new_central = central + entry
    end = (
        b"PK\x05\x06"
        + (0).to_bytes(4, "little")
        + (count + 1).to_bytes(2, "little")
        + (count + 1).to_bytes(2, "little")
        + len(new_central).to_bytes(4, "little")
        + new_cd_offset.to_bytes(4, "little")
        + (0).to_bytes(2, "little")
    )
    path.write_bytes(buf[:cd_offset] + local + stream + new_central + end)
    return path


def test_a_1mb_xlsx_zip_bomb_is_refused_quickly_in_little_memory(tmp_path):
    bomb = _xlsx_bomb(tmp_path / "名册.xlsx", 1)
    assert 0.9 * MB < bomb.stat().st_size < 1.5 * MB
    with zipfile.ZipFile(bomb) as zf:  # a real zip whose part inflates as it declares
        info = zf.getinfo("xl/media/padding.bin")
        assert info.file_size > 900 * MB
        with zf.open(info) as part:
            assert part.read(MB) == b"\0" * MB
    err, elapsed, peak = _bounded(lambda: open_table(bomb))
    assert isinstance(err, VisitlogError), err
    assert "可能是恶意文件" in str(err) and "padding.bin" in str(err)
    assert elapsed < 3, elapsed
    assert peak < 32 * MB, peak


def test_a_small_bomb_under_the_size_limits_is_refused_by_its_ratio(tmp_path):
    bomb = _xlsx_bomb(tmp_path / "名册.xlsx", 0.05)
    err, _elapsed, _peak = _bounded(lambda: open_table(bomb))
    assert isinstance(err, VisitlogError) and "倍" in str(err)


def test_the_bomb_through_the_cli_is_one_line_and_nothing_stored(tmp_path, cli):
    bomb = _xlsx_bomb(tmp_path / "名册.xlsx", 1)
    cli("init", "-w", "王丽华", "-g", "1号网格")
    result = cli("roster", "import", str(bomb))
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1, result.output
    listing = cli("household", "list", "--json")
    assert json.loads(listing.stdout) == []


def test_an_ordinary_workbook_still_reads(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["地址", "微网格"])
    wb.active.append(["兰溪路1号", "1号网格"])
    wb.save(tmp_path / "ok.xlsx")
    table = open_table(tmp_path / "ok.xlsx")
    rows = [r[1] for r in table.rows]
    assert rows[1][:2] == ["兰溪路1号", "1号网格"]


def test_a_bomb_of_short_lines_is_cut_by_the_ratio(tmp_path):
    """Newlines every few bytes pass the line limit; the ratio refuses past the floor."""
    from visitlog.sync.bundle_file import RATIO_FLOOR, _lines, _read_chunks

    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"[]\n" * (MB // 3)
    data = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    data += block * (2 * RATIO_FLOOR // len(chunk))
    path = tmp_path / "lines.gz"
    path.write_bytes(data)
    seen = 0
    with open(path, "rb") as fh, pytest.raises(VisitlogError) as err:
        for _line in _lines(_read_chunks(fh, len(data), path), path):
            seen += 1
    assert "倍" in str(err.value)
    assert seen * 3 <= RATIO_FLOOR + 2 * MB
