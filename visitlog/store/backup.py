"""Online backup of a database (SQLite's backup API: safe while in use)."""

from __future__ import annotations

from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import cipher, files, recovery
from visitlog.store.database import StoreBase, sqlite_errors


class Backups(StoreBase):
    """The backup of a :class:`~visitlog.store.Store`."""

    def backup(self, dest: Path | str) -> Path:
        """Copy the database with SQLite's online backup API (safe while in use).

        Written to a temporary file first and renamed, so a failed backup
        never leaves a half-written file under the requested name.  The
        backup of an encrypted database is encrypted with the same key (and
        salt: the passphrase opens it), and its recovery file goes beside it.
        """
        dest = Path(dest).expanduser()
        if dest.resolve() == self.path.resolve() or files.is_open_database(dest):
            raise VisitlogError(t("err.backup_same_file"))
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise VisitlogError(t("err.write_file", path=dest, detail=detail)) from exc
        # An older backup may be replaced; the database, its WAL or another
        # database this process has open may not (files.check_destination).
        with files.replacing(dest, replace_database=True) as tmp, sqlite_errors(dest):
            target = cipher.connect(str(tmp), self.key)
            try:
                with self._lock:
                    self.conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        if self.key is not None:
            recovery.copy_recovery(self.path, dest)
        return dest
