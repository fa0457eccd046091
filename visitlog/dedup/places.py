"""Address aliases the workers decide (``visitlog address aliases``), and those in force.

A worker confirms that a place names an estate (花溪路45弄 is 曹杨一村) or
rejects a learned alias; the decision is a synced row of ``address_aliases``
whose id comes from what it decides, and it wins over what is learned from
the records (:class:`~visitlog.dedup.dwellings.AliasBook`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from visitlog.address import normalize_address, parse_key
from visitlog.dedup.dwellings import Alias, alias_id, alias_kind
from visitlog.dedup.houses import alias_book
from visitlog.i18n import t
from visitlog.model import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = ["add_alias", "list_aliases", "reject_alias"]


def _normalised_place(text: str, what: str) -> str:
    key = normalize_address(text)
    if not key or parse_key(key).building or parse_key(key).room:
        raise ValidationError(t("alias.err.not_place", what=what, value=text))
    return key


def _decide(
    store: Store, alias: str, target: str, status: str, scope: str | None, note: str | None
) -> dict[str, Any]:
    a = _normalised_place(alias, t("alias.word.alias"))
    b = _normalised_place(target, t("alias.word.target"))
    if a == b:
        raise ValidationError(t("alias.err.same", value=alias))
    kind = alias_kind(a)
    scope_key = (scope or "").strip()
    rid = alias_id(a, b, scope_key)
    row = {
        "alias": a,
        "target": b,
        "kind": kind,
        "scope": scope_key,
        "status": status,
        "worker": store.get_setting("worker"),
        "note": note,
        "deleted": 0,
    }
    with store.transaction() as tx:
        existing = tx.rows("SELECT id FROM address_aliases WHERE id = ?", [rid])
        if existing:
            tx.update("address_aliases", rid, row)
        else:
            tx.insert("address_aliases", {"id": rid, **row})
        tx.audit(f"alias_{status}", "address_aliases", rid, {"alias": a, "target": b})
    return {"id": rid, **row}


def add_alias(
    store: Store, alias: str, target: str, scope: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Confirm that *alias* names the estate *target* (kept and synced)."""
    return _decide(store, alias, target, "confirmed", scope, note)


def reject_alias(
    store: Store, alias: str, target: str, scope: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Record that *alias* does not name *target*: a learned alias is no longer used."""
    return _decide(store, alias, target, "rejected", scope, note)


def list_aliases(store: Store) -> list[Alias]:
    """Every alias in force or decided: learned from the households and merges, and kept."""
    return alias_book(store).aliases
