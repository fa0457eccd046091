"""How the entries of the audit chain are linked: a SHA-256 hash of the entry and
the previous link, or, with a station key held, an HMAC keyed with a key
derived from it (``k1:<fingerprint>:<mac>``)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from visitlog.rows import jdump

#: The ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64

#: Settings key recording that this database's audit chain is keyed (``k1``).
CHAIN_SETTING = "audit_chain"
KEYED_CHAIN = "k1"
#: Hashes of keyed entries: ``k1:<key fingerprint>:<HMAC-SHA256>``.
KEYED_PREFIX = "k1:"
_CHAIN_LABEL = b"visitlog audit chain v1"


def chain_fingerprint(key: Any) -> str:
    """The fingerprint named in keyed entries (the station key's own)."""
    return key.fingerprint


def audit_mac(key: Any, prev: str, entry: Any) -> str:
    """A keyed entry's stamp: HMAC-SHA256 of the entry and the previous stamp, with a
    key derived from the station key (so it signs nothing but audit entries)."""
    chain_key = hmac.new(key.secret, _CHAIN_LABEL, hashlib.sha256).digest()
    mac = hmac.new(chain_key, _audit_payload(prev, entry).encode("utf-8"), hashlib.sha256)
    return f"{KEYED_PREFIX}{chain_fingerprint(key)}:{mac.hexdigest()}"


def _audit_payload(prev: str, entry: Any) -> str:
    return jdump(
        [
            prev,
            entry["at"],
            entry["worker"],
            entry["device"],
            entry["action"],
            entry["tbl"],
            entry["row_id"],
            entry["detail"],
        ]
    )


def audit_hash(prev: str, entry: Any) -> str:
    return hashlib.sha256(_audit_payload(prev, entry).encode("utf-8")).hexdigest()
