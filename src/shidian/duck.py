"""A private in-memory DuckDB connection: the one door every module opens DuckDB through.

``connect()`` is ``duckdb.connect(":memory:")`` made quiet: DuckDB prints a progress bar on the
terminal for any query that runs longer than two seconds (its default), which lands in the middle
of a command's output (``shidian drg settle`` on a loaded host) or a server's log. ``threads``
limits the connection's worker threads (a web page's query on a two-core machine).
"""

from __future__ import annotations

import duckdb


def connect(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB without a progress bar (and with at most ``threads`` threads)."""
    con = duckdb.connect(":memory:", config={} if threads is None else {"threads": threads})
    con.execute("SET enable_progress_bar = false")  # a connection's option, not a config one
    return con
