"""What names a PostgreSQL hub, and how it is shown (no psycopg needed)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

#: The URL schemes that name a PostgreSQL hub.
SCHEMES = ("postgresql", "postgres")


def is_url(target: object) -> bool:
    """Whether *target* names a PostgreSQL hub (``postgresql://…``)."""
    return isinstance(target, str) and target.split("://", 1)[0].lower() in SCHEMES


def public_url(url: str) -> str:
    """*url* without its password (what reports, peers and messages show)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url
    if password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


__all__ = ["SCHEMES", "is_url", "public_url"]
