"""The SQL engines the columnar rules run on: DuckDB (one machine) and Apache Spark (a cluster).

The rules are written once, as SQL text (``drg.reference``, ``drg.points`` …); an ``Engine``
runs that text and answers in Arrow tables and Python rows, the same on both (issue 21). The
few differences live here and in ``money``'s SQL twins, nowhere else:

* the wide integer of exact division: HUGEINT in DuckDB, DECIMAL(38,0) in Spark (``money.sql_div``);
* DDL: ``CREATE TABLE t AS …`` is a DuckDB table; on Spark it is a temporary view over a
  checkpointed result (nothing is written to a warehouse, and Spark will not create a permanent
  table or view over the temporary views the inputs are), ``CREATE VIEW`` a temporary view;
  several statements in one text are split here for Spark;
* Spark's decimal arithmetic is exact only with ``spark.sql.decimalOperations.allowPrecisionLoss
  =false`` (its default, true, cuts a DECIMAL's scale to 6 digits without a word) and ANSI mode
  (an overflow is an error, not NULL): ``SparkEngine`` refuses a session without both.

pyspark is imported only when a Spark engine is asked for; DuckDB needs nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import duckdb
import pyarrow as pa

from shidian import duck
from shidian.money import Dialect

#: The engines a batch runs on: this machine (DuckDB) or a cluster (Spark); the same files either way.
EngineName = Literal["duckdb", "spark"]

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The Spark settings without which its money is not DuckDB's, and their required values.
SPARK_REQUIRED: dict[str, str] = {
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.ansi.enabled": "true",
}
#: Quiet, local-friendly defaults; a cluster's own configuration may override them.
SPARK_DEFAULTS: dict[str, str] = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}

_CREATE = re.compile(r"^\s*CREATE\s+(TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)$", re.IGNORECASE | re.DOTALL)


class Rows(Protocol):
    """The answer of ``Engine.execute``: its rows as tuples."""

    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class Engine(Protocol):
    """What a columnar rule needs of an engine: run SQL, read rows or an Arrow table, register inputs."""

    dialect: Dialect

    def execute(self, sql: str) -> Rows: ...
    def arrow(self, query: str) -> pa.Table: ...
    def register(self, name: str, table: pa.Table) -> None: ...
    def unregister(self, name: str) -> None: ...
    def close(self) -> None: ...


class DuckDBEngine:
    """An in-memory DuckDB connection (the default engine)."""

    dialect: Dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con if con is not None else duck.connect()

    def execute(self, sql: str) -> Rows:
        return self.con.execute(sql)

    def arrow(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def close(self) -> None:
        self.con.close()


class SparkSettingsError(RuntimeError):
    """A Spark session whose settings would give different money: refused."""


def check_spark_settings(spark: SparkSession) -> None:
    """Raise ``SparkSettingsError`` unless every setting of ``SPARK_REQUIRED`` is in force."""
    wrong = {
        key: spark.conf.get(key)
        for key, value in SPARK_REQUIRED.items()
        if str(spark.conf.get(key)).lower() != value
    }
    if wrong:
        found = ", ".join(f"{k}={v}" for k, v in wrong.items())
        needed = ", ".join(f"{k}={v}" for k, v in SPARK_REQUIRED.items())
        raise SparkSettingsError(
            f"Spark 设置会改变金额, 拒绝运行: {found}; 须 {needed} "
            "(allowPrecisionLoss=true 将 DECIMAL 小数位截为 6 位; 非 ANSI 模式溢出得 NULL)"
        )


def spark_session(master: str | None = None, config: dict[str, str] | None = None) -> SparkSession:
    """A Spark session with the required settings (``master`` None: Spark's own configuration,
    ``spark-submit --master`` or ``spark.master``, else ``local[*]``; ``sc://host:port``: Spark
    Connect), checked before use."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("shidian")
    if master and master.startswith("sc://"):  # Spark Connect
        builder = builder.remote(master)
    elif master:
        builder = builder.master(master)
    for key, value in {**SPARK_DEFAULTS, **(config or {}), **SPARK_REQUIRED}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not (master or "").startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    check_spark_settings(spark)
    return spark


def statements(sql: str) -> list[str]:
    """The statements of ``sql``, split at the semicolons outside string literals (a rule
    trail's text has '; ' in it)."""
    parts: list[str] = []
    start, quoted = 0, False
    for i, char in enumerate(sql):
        if char == "'":
            quoted = not quoted  # '' inside a literal toggles twice: still quoted
        elif char == ";" and not quoted:
            parts.append(sql[start:i])
            start = i + 1
    parts.append(sql[start:])
    return [part for part in parts if part.strip()]


class _SparkRows:
    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.rows = list(rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class SparkEngine:
    """The same SQL on a Spark session (local or a cluster); refuses a session with the wrong settings.

    Every table the rules create is a temporary view of the session (one settlement at a time
    per session); ``close`` drops them.
    """

    dialect: Dialect = "spark"

    def __init__(self, spark: SparkSession) -> None:
        check_spark_settings(spark)
        self.spark = spark
        self.views: list[str] = []

    def _view(self, name: str, df: Any) -> None:
        df.createOrReplaceTempView(name)
        self.views.append(name)

    def execute(self, sql: str) -> Rows:
        rows: list[tuple[Any, ...]] = []
        for statement in statements(sql):
            created = _CREATE.match(statement)
            if created:
                kind, name, query = created.groups()
                df = self.spark.sql(query)
                # A table is computed once and kept (its lineage cut); a view is recomputed when read.
                self._view(name, df.localCheckpoint(eager=True) if kind.upper() == "TABLE" else df)
                rows = []
            else:
                rows = [tuple(r) for r in self.spark.sql(statement).collect()]
        return _SparkRows(rows)

    def arrow(self, query: str) -> pa.Table:
        table = self.spark.sql(query).toArrow()
        return _plain_types(table)

    def register(self, name: str, table: pa.Table) -> None:
        self._view(name, self.spark.createDataFrame(table))

    def read_parquet(self, uri: str) -> pa.Table:
        """The Parquet dataset at ``uri`` (any URI this Spark reads), as Arrow on the driver."""
        return _plain_types(self.spark.read.parquet(uri).toArrow())

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        if name in self.views:
            self.views.remove(name)

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        self.views.clear()


def _plain_types(table: pa.Table) -> pa.Table:
    """Spark's Arrow in DuckDB's types: string, not large_string; nullable fields."""
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_large_string(kind):
            kind = pa.string()
        elif pa.types.is_large_binary(kind):
            kind = pa.binary()
        fields.append(pa.field(field.name, kind, nullable=True))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)
