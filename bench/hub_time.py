"""``python -m bench.hub_time ARGS…``: ``visitlog ARGS…``, timing its hold on a PostgreSQL hub.

The command runs as ``python -m visitlog`` would run it; the sessions it
opens on a PostgreSQL hub (each takes the hub's lock, see
:mod:`visitlog.sync.postgres.replica`) are timed: how long each waited for
the lock, and how long it then held it until its commit.  The last line on
stderr is ``HUB-TIME {"wait": s, "held": s}`` (sums over the sessions).
``bench.pg_hub`` uses it to tell the hub's share of a sync from the
laptop's own.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from visitlog.sync.postgres import replica

_spent = {"wait": 0.0, "held": 0.0}
_session = replica.PgReplica.session


@contextlib.contextmanager
def _timed(self: Any) -> Iterator[Any]:
    asked = time.perf_counter()
    got: float | None = None
    try:
        with _session(self) as s:
            got = time.perf_counter()
            _spent["wait"] += got - asked
            yield s
    finally:
        if got is not None:
            _spent["held"] += time.perf_counter() - got


def main() -> None:
    replica.PgReplica.session = _timed  # type: ignore[method-assign]
    from visitlog.cli import main as visitlog

    sys.argv = ["visitlog", *sys.argv[1:]]
    try:
        visitlog()
    finally:
        print("HUB-TIME " + json.dumps(_spent), file=sys.stderr)


if __name__ == "__main__":
    main()
