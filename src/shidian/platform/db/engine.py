"""Engines and migrations: ``connect(url)`` makes an engine, ``upgrade(engine)`` runs Alembic."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

#: Connections a PostgreSQL engine keeps open; the web server runs at most this many
#: requests' work at once in its threads (``shidian.web.app``), so that a busy server reuses them instead of
#: opening and closing overflow connections (a backend start-up each) request after request.
POOL_SIZE = 20


def make_engine(url: str) -> sa.Engine:
    """An engine for SQLite (the embedded default) or PostgreSQL (production).

    ``hide_parameters``: a database error's message never carries the statement's values (an
    argon2 hash, a name, an ID number), so no log line of a failed statement holds them.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        return engine
    return sa.create_engine(
        url, pool_size=POOL_SIZE, max_overflow=20, pool_pre_ping=True, hide_parameters=True
    )


def alembic_config(engine: sa.Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("shidian.platform.db") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (Alembic)."""
    command.upgrade(alembic_config(engine), revision)


def existing_database(url: str, table: str) -> str | None:
    """Why a command that reads the application's database cannot run, or None: a SQLite file
    that does not exist (connecting would create an empty one) or a database without ``table``
    (never set up)."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:" and not Path(path).is_file():
            return f"没有找到数据库 {path} (no database)"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return f"数据库 {engine.url.render_as_string(hide_password=True)} 尚未建立 (no {table} table)"
    except sa.exc.OperationalError as exc:
        return f"无法连接数据库 (cannot connect): {str(exc.orig).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def insert_id(conn: sa.Connection, table: sa.Table, **values: object) -> int:
    """Insert one row into ``table`` and return its new ``id`` (SQLite and PostgreSQL alike)."""
    return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
