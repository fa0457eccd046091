"""The Replica interface: what the sync flow needs from each database it syncs.

A *replica* is any visitlog database: this laptop's, a hub file on a share
or a USB stick, or a PostgreSQL hub.  The sync flow (:mod:`visitlog.sync.replica`),
bundles (:mod:`visitlog.sync.bundle`) and the merge rules
(:mod:`visitlog.sync.merge`) see a replica only through the protocols here;
each engine (:mod:`visitlog.sync.sqlite`, the SQLite file;
:mod:`visitlog.sync.postgres`, the PostgreSQL hub) implements them.

- :class:`Target` — a replica the worker named (a path, later a URL), found
  but not opened yet;
- :class:`Replica` — an open replica, outside a transaction: its name, schema,
  station key, and :meth:`Replica.session`;
- :class:`Session` — the replica locked for one exchange, inside its one
  transaction: identity, settings, audit, the change log, peers, chain heads;
- :class:`Applier` — applies received changes under that session's lock and
  transaction, with the merge rules.

A change travels as a :data:`Change` tuple, the same in a sync, a bundle and
every engine's log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from visitlog.progress import Progress
from visitlog.store import StationKey

#: One change as logged and as shipped:
#: ``(device, seq, tbl, row_id, hlc, op, data, base)``; data and base are JSON text.
Change = tuple[str, int, str, str, str, str, str, str | None]

#: Per device, the seq range ``(first, last)`` wanted of its changes.
Ranges = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Peer:
    """What a replica remembers of another it exchanged changes with.

    ``vv`` is what the peer was known to hold (for ``bundle export --for``);
    ``kind`` is ``"hub"`` or ``"device"``; ``path`` where it was synced at
    (a hub), if known.
    """

    device: str
    name: str | None
    kind: str
    path: str | None
    vv: dict[str, int] = field(default_factory=dict)


class Applier(Protocol):
    """Applies a stream of received changes inside one open session.

    Use: :meth:`add` for each batch, then :meth:`finish`; the session commits
    (or rolls back) everything at its end.
    """

    #: ``{device: highest seq held}``, following what :meth:`add` took.
    vv: dict[str, int]
    #: Changes taken, per table.
    received: Counter[str]
    #: Conflicts first recorded on this replica by this apply, by id.
    new_conflicts: dict[str, dict[str, Any]]

    def add(self, batch: Sequence[Change]) -> int:
        """Take one batch (of one or more devices, each in seq order); how many were new.

        Raises:
            GapError, ReplayError, InvalidChange: nothing of the receive is applied.
        """
        ...

    def note_sent(self, batch: Sequence[Change]) -> None:
        """See a batch this replica is sending (its own edits may settle conflicts)."""
        ...

    def pending_merges(self) -> int:
        """How many rows :meth:`finish` will recompute."""
        ...

    def finish(self, progress: Progress | None = None) -> None:
        """Recompute the rows the changes touched (``progress("merge", done, total)``)."""
        ...

    def skewed(self) -> list[dict[str, Any]]:
        """Per device, the stamps held as far ahead of this replica's clock."""
        ...


class Session(Protocol):
    """A replica locked for one exchange, inside its one transaction."""

    @property
    def device(self) -> str:
        """This replica's device id (checked on first use: a restored or
        copied database takes a new one here)."""
        ...

    @property
    def identity_change(self) -> dict[str, Any] | None:
        """``{"old", "new", "reason"}`` when this session took a new device id."""
        ...

    def new_device(self, reason: str) -> str:
        """Take a new device id (``reason``: a key of ``identity.reason.*``)."""
        ...

    def note_shipped(self) -> None:
        """Record that this replica's own changes so far reached another replica."""
        ...

    def setting(self, key: str) -> str | None: ...

    def set_setting(self, key: str, value: str | None) -> None: ...

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        """Append one entry to this replica's audit chain."""
        ...

    # -- the change log --------------------------------------------------------------

    def version_vector(self) -> dict[str, int]:
        """``{device: highest seq held}``."""
        ...

    def changes(
        self, ranges: Ranges, batch_size: int, readable: dict[str, list[int]] | None = None
    ) -> Iterable[list[Change]]:
        """The changes in ``ranges``, in batches, device by device in seq order.

        *readable*: what :meth:`readable` said of ranges covering these, in
        this sync (a replica that sends only some changes may read those by
        their numbers instead of finding them again; others ignore it).
        """
        ...

    def change(self, device: str, seq: int) -> Change | None:
        """The change numbered ``seq`` of ``device``, if held."""
        ...

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        """How many changes per table lie in ``ranges``."""
        ...

    def applier(self, now_ms: Callable[[], int] | None = None) -> Applier:
        """An applier of received changes in this session (``now_ms``: the wall clock)."""
        ...

    def receiving_whole(self) -> AbstractContextManager[object]:
        """The context in which this session receives a whole replica's changes
        at once (a bundle's): a replica that holds no records yet may set
        its indexes aside meanwhile and build them once at the end, inside
        the same transaction; any other replica does nothing special.  The
        applier's ``finish`` comes after the context closes."""
        ...

    def open_conflicts(self, ids: Sequence[str]) -> set[str]:
        """Which of the conflicts *ids* are recorded here and still open (one
        recorded by an earlier chunk of a sync may be settled by a later one)."""
        ...

    # -- partial replicas (a station of a PostgreSQL hub) -----------------------------

    def moved(self, since: int | None) -> tuple[Iterable[list[Change]], list[str], int | None]:
        """Households that changed place after move number *since* (None: the
        peer's first sync, nothing to catch up), as this session's reader may
        see them: the changes of those it may see now, in batches read as
        they are taken (to take in again, within this session),
        the ids of those it may no longer see (to let go of), and the number
        of the last move (for the peer to remember).  A replica that shows
        everything to everyone returns ``([], [], None)``."""
        ...

    def readable(self, ranges: Ranges) -> dict[str, list[int]] | None:
        """Per device, the numbers of the changes in *ranges* this replica
        would send (in order), when it sends only some and the rest as skips
        (a station of a hub); None when it sends them all.  A big exchange
        sizes its chunks by them."""
        ...

    def let_go(self, households: Sequence[str]) -> int:
        """Remove *households*, their visits and items from this replica
        without recording a change (they live on at the hub; this replica
        may no longer see them), their changes replaced by skips so the
        vector stays; how many households were removed."""
        ...

    # -- peers and their audit chains ------------------------------------------------

    def peers(self) -> list[Peer]: ...

    def peer(self, device: str) -> Peer | None: ...

    def save_peer(self, peer: Peer) -> None:
        """Write ``peer`` as it is now (and when it was last synced: now)."""
        ...

    def forget_peers(self, devices: Sequence[str]) -> None: ...

    def chain_head(self) -> dict[str, Any] | None:
        """``{"id", "hash"}`` of the newest entry of this replica's audit chain."""
        ...

    def audit_hash(self, entry: int) -> str | None:
        """The hash of audit entry ``entry``, None when there is none."""
        ...


class Replica(Protocol):
    """An open replica, outside a transaction."""

    @property
    def name(self) -> str:
        """What messages and reports call it (the path as given, a URL)."""
        ...

    @property
    def location(self) -> str:
        """Where it is, canonically (a resolved path): what peers record, and
        the order in which two replicas are locked."""
        ...

    @property
    def schema_version(self) -> int: ...

    @property
    def pending_upgrade(self) -> bool:
        """Whether it was opened without the migrations it lacks."""
        ...

    def upgrade(self) -> None: ...

    def station_key(self) -> StationKey | None:
        """The station key this replica holds, if any (:mod:`visitlog.security`)."""
        ...

    def version_vector(self) -> dict[str, int]:
        """As :meth:`Session.version_vector`, read outside a session (dry runs)."""
        ...

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        """As :meth:`Session.count_by_table`, read outside a session (dry runs)."""
        ...

    def session(self, whole: bool = False) -> AbstractContextManager[Session]:
        """Lock the replica for one exchange in one transaction: committed when
        the block ends, rolled back whole when it raises.

        *whole*: the session will receive a whole replica's changes at once
        (a bundle, see :meth:`Session.receiving_whole`): a replica may tune
        itself for that before its transaction begins."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """A replica the worker named, found but not opened.

    ``exists`` is False where a sync would make a new, empty hub; ``open``
    opens it (making it when absent), without upgrading an older schema.
    ``seed`` (where the engine can): makes the absent hub whole from a
    snapshot of this laptop's database, ``seed(store, progress)``, returning
    what it took, or None when it did not (the hub is then made empty and
    filled by the exchange).
    """

    name: str
    location: str
    exists: bool
    open: Callable[[], Replica]
    seed: Callable[[Any, Any], Any] | None = None


__all__ = ["Applier", "Change", "Peer", "Ranges", "Replica", "Session", "Target"]
