"""A hub's rows are read in a thread of their own while the copy writes them
(``visitlog.sync.copy._ahead``): same batches, each table's end said, errors
passed on, nothing left running when either side stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from visitlog.sync.copy import _ahead


def _readers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "visitlog-read-ahead"]


def test_the_batches_come_as_read_table_after_table():
    def read(tbl: str, columns: Sequence[str], size: int) -> Iterator[list[tuple]]:
        for n in range(7):
            yield [(tbl, c, n, i) for c in columns for i in range(size)]

    tables = [("households", ["id", "x"]), ("visits", ["id"])]
    expected = [
        item
        for tbl, cols in tables
        for item in [*((tbl, b) for b in read(tbl, cols, 3)), (tbl, None)]
    ]
    assert list(_ahead(read, tables, 3, depth=2)) == expected
    assert _readers() == []


def test_an_error_of_the_reader_reaches_the_writer_after_the_batches_before_it():
    def read(tbl: str, columns: Sequence[str], size: int) -> Iterator[list[int]]:
        yield [1]
        yield [2]
        raise RuntimeError("the hub went away")

    got: list[object] = []
    with pytest.raises(RuntimeError, match="the hub went away"):
        for _tbl, batch in _ahead(read, [("households", ["id"]), ("visits", ["id"])], 1):
            got.append(batch)
    assert got == [[1], [2]]
    assert _readers() == []


def test_a_writer_that_stops_stops_the_reader_and_closes_what_it_read():
    closed = threading.Event()
    read_in: list[str] = []

    def read(tbl: str, columns: Sequence[str], size: int) -> Iterator[list[int]]:
        read_in.append(threading.current_thread().name)
        try:
            n = 0
            while True:  # a hub with more rows than the writer will take
                n += 1
                yield [n]
        finally:
            closed.set()

    batches = _ahead(read, [("visits", ["id"]), ("items", ["id"])], 1, depth=2)
    with pytest.raises(ValueError):
        for _tbl, batch in batches:
            if batch == [3]:
                raise ValueError("the copy's disk is full")
    batches.close()
    assert closed.is_set()
    assert read_in == ["visitlog-read-ahead"]
    assert _readers() == []
