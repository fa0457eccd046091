"""Forms in progress (drafts), kept in files of their own beside the database.

A draft must survive what a form cannot: a crash, a closed terminal, or the
app being closed while its save waits for another program's long write (a
roster import, a first sync with a district hub).  While that program holds
the database's write lock, nothing can be written *into* the database, so
drafts live in a folder beside it, ``.<database name>.drafts/``: one small
JSON file per form, written whole (temporary file, then rename) and readable
by its owner only (drafts hold personal data).  Writing one never waits for
SQLite, and these files are never the database, its ``-wal`` or its ``-shm``.

Drafts are local to the laptop: they are not synced and not in backups.
Beside an encrypted database they are sealed (AES-GCM) under a key derived
from the database's key (:func:`visitlog.store.cipher.seal`), so they give
away no more than the database; ``rekey`` and ``encrypt`` re-seal them.
Older versions kept them in the ``drafts`` table; :meth:`DraftBox.adopt`
moves those here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visitlog.clock import now_iso
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import cipher, files


@dataclass
class Draft:
    """One form in progress."""

    id: str
    kind: str
    data: dict[str, Any]
    updated_at: str


class DraftBox:
    """The drafts of the database at *db_path*.

    Every method is safe to call from any thread; a failure to write (a
    read-only medium, a full disk) is reported as :class:`VisitlogError` and
    leaves the previous draft as it was.
    """

    def __init__(self, db_path: Path | str, key: cipher.DbKey | None = None):
        db_path = Path(db_path)
        self.folder = db_path.with_name(f".{db_path.name}.drafts")
        #: The database's key (drafts of an encrypted database are sealed).
        self.key = key or cipher.known_key(db_path)

    def _file(self, draft_id: str) -> Path:
        # Readable names for people looking in the folder, made unique by a
        # hash (two ids may clean up to the same text).
        clean = re.sub(r"[^0-9A-Za-z_-]+", "-", draft_id)[:60]
        digest = hashlib.sha256(draft_id.encode("utf-8")).hexdigest()[:10]
        return self.folder / f"{clean}.{digest}.json"

    def save(self, draft_id: str, kind: str, data: dict[str, Any], updated_at: str = "") -> None:
        """Keep (or replace) the draft *draft_id*."""
        record = {
            "id": draft_id,
            "kind": kind,
            "data": data,
            "updated_at": updated_at or now_iso(),
        }
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise VisitlogError(t("err.write_file", path=self.folder, detail=detail)) from exc
        payload = json.dumps(record, ensure_ascii=False, sort_keys=True)
        if self.key is not None:
            payload = cipher.seal(self.key, payload)
        files.write_private(self._file(draft_id), payload)

    def discard(self, draft_id: str) -> None:
        """Forget the draft *draft_id* (nothing happens when there is none)."""
        path = self._file(draft_id)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise VisitlogError(t("err.write_file", path=path, detail=detail)) from exc

    def get(self, draft_id: str) -> Draft | None:
        """The draft *draft_id*, or None."""
        return self._read(self._file(draft_id))

    def list(self, kind: str | None = None) -> list[Draft]:
        """Every readable draft (of *kind*), oldest first."""
        try:
            names = sorted(os.listdir(self.folder))
        except OSError:
            return []
        drafts = [d for n in names if n.endswith(".json") and (d := self._read(self.folder / n))]
        return sorted(
            (d for d in drafts if kind is None or d.kind == kind),
            key=lambda d: (d.updated_at, d.id),
        )

    def _read(self, path: Path) -> Draft | None:
        try:
            text = cipher.unseal(self.key, path.read_text(encoding="utf-8"))
            if text is None:
                return None
            record = json.loads(text)
            return Draft(
                id=str(record["id"]),
                kind=str(record["kind"]),
                data=dict(record["data"]),
                updated_at=str(record.get("updated_at") or ""),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged draft is not worth a crash

    def adopt(self, old: list[dict[str, Any]]) -> list[str]:
        """Take over drafts kept in the database by older versions.

        A draft already here and at least as new is kept as it is.

        Returns:
            The ids adopted (or already here), to be removed from the database.
        """
        done = []
        for d in old:
            mine = self.get(d["id"])
            if mine is None or mine.updated_at < (d.get("updated_at") or ""):
                self.save(d["id"], d["kind"], d["data"], d.get("updated_at") or "")
            done.append(d["id"])
        return done

    def reseal(self, key: cipher.DbKey | None) -> None:
        """Write every readable draft again under *key* (the database's new key)."""
        drafts = self.list()
        self.key = key
        for d in drafts:
            self.save(d.id, d.kind, d.data, d.updated_at)
