"""PostgreSQL hubs for tests: a database of their own, dropped afterwards.

The server is the one at ``VISITLOG_TEST_PG`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``, what ``.ci/run`` starts);
tests that need it are skipped, saying why, only when no server answers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("VISITLOG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_db(url: str, db: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@{netloc.rsplit('@', 1)[-1]}"
    return urlunsplit((parts.scheme, netloc, "/" + db, parts.query, parts.fragment))


def server_reason() -> str | None:
    """Why no PostgreSQL server can be used, None when one can."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {ADMIN_URL} ({str(exc).strip().splitlines()[0]})"
    return None


def need_server() -> None:
    """Fail the test, in one line saying what to start, when no server answers.

    PostgreSQL is part of visitlog's set-up (the hub engine): ``.ci/run``
    starts it, and a test run without it is not a passing run.
    """
    reason = server_reason()
    if reason:
        pytest.fail(f"{reason}: start it (service postgresql start)", pytrace=False)


class PgServer:
    """Makes databases (and station roles) for one test, drops them after."""

    def __init__(self) -> None:
        self.dbs: list[str] = []
        self.roles: list[str] = []

    def database(self) -> str:
        """A new empty database's URL (as the server's superuser)."""
        name = f"visitlog_test_{secrets.token_hex(6)}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.dbs.append(name)
        return _with_db(ADMIN_URL, name)

    def role_name(self, stem: str) -> str:
        name = f"vt_{stem}_{secrets.token_hex(4)}"
        self.roles.append(name)
        return name

    def url_as(self, url: str, role: str) -> str:
        return _with_db(url, urlsplit(url).path.lstrip("/"), user=role)

    def drop(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for name in self.dbs:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in self.roles:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def pg() -> Iterator[PgServer]:
    need_server()
    server = PgServer()
    try:
        yield server
    finally:
        server.drop()


@pytest.fixture
def pg_hub(pg: PgServer) -> str:
    """The URL of a new, initialised visitlog hub in a database of its own."""
    from visitlog.sync.postgres import init_hub

    url = pg.database()
    init_hub(url)
    return url
