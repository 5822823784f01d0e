"""The claim frame (就诊宽表): claims with what pricing needs to know, aligned row by row.

``claim_frame`` sorts the claims by ``claim_id`` (the output order) and appends, positionally,
the person's ``category`` and ``insured``, the institution's ``level``, ``designated``,
``in_county`` and ``place`` (its ``place``, or ``county`` when blank and in the county, else
null: what the policy's inpatient tiers match), the chronic disease's policy terms, ``person_key`` (an integer per person, what
windows partition by), ``ord`` (the claim's place among its person's claims by ``(start_date,
end_date, claim_id)``) and ``rid`` (the row number). Lookups are hash lookups whose matches are
put back by position, and the order is one stable integer sort: the row order never changes,
and every later stage appends its columns by position (``align``) instead of joining wide rows
back, which is what keeps two million claims within seconds.

On Spark there are no row positions: ``JoinedFrame`` builds the same frame in SQL
(``CLAIM_FRAME_SQL``: lookups as joins, ``ord`` a ``row_number`` window, the claim id as the
row id) and joins each step back on the row id. ``tests/insurance/test_engines.py`` pins the
two frames together claim by claim (docs/scale.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shidian import duck
from shidian.dialect import Engine
from shidian.insurance.model import CLAIMS_SCHEMA, MONEY, RATIO
from shidian.insurance.policy import InsurancePolicy
from shidian.money import Dialect

__all__ = ["Frame", "JoinedFrame", "PositionalFrame", "align", "claim_frame", "person_rows", "query"]

#: Up to this many claims a query takes the prepared-statement path (see ``query``).
SMALL = 10_000


def claim_frame(
    claims: pa.Table, persons: pa.Table, institutions: pa.Table, policy: InsurancePolicy
) -> pa.Table:
    """``claims`` (``CLAIMS_SCHEMA`` columns) by claim_id, with lookups, ``ord`` and ``rid``."""
    if "inpatient_category" not in claims.column_names:  # claims from before issue 18 (no column)
        claims = claims.append_column("inpatient_category", pa.nulls(claims.num_rows, pa.string()))
    table = claims.select(list(CLAIMS_SCHEMA.names)).cast(CLAIMS_SCHEMA)
    if not _sorted(table.column("claim_id")):  # files usually come sorted by claim id: then no sort
        table = table.take(pc.sort_indices(table.column("claim_id")))
    n = table.num_rows
    person, person_key = _person_rows(table.column("person_id"), persons.column("person_id"))
    institution = pc.index_in(table.column("institution_id"), value_set=institutions.column("institution_id"))
    outpatient = pc.equal(table.column("kind"), "outpatient")
    codes = pa.array([c.code for c in policy.chronic_diseases], pa.string())
    chronic = pc.if_else(outpatient, pc.index_in(table.column("chronic_disease"), value_set=codes), None)
    chronic_terms = pa.table(
        {
            "chronic_code": codes,
            "chronic_name": pa.array([c.name for c in policy.chronic_diseases], pa.string()),
            "chronic_amount": pa.array([c.annual_amount for c in policy.chronic_diseases], MONEY),
            "chronic_ratio": pa.array([c.ratio for c in policy.chronic_diseases], RATIO),
        }
    ).take(chronic)
    columns = {
        "category": persons.column("category").take(person),
        "insured": persons.column("insured").cast(pa.int8()).take(person),
        "level": institutions.column("level").cast(pa.int64()).take(institution),
        "designated": institutions.column("designated").cast(pa.int8()).take(institution),
        "in_county": institutions.column("in_county").cast(pa.int8()).take(institution),
        "place": _places(institutions).take(institution),
        **{name: chronic_terms.column(name) for name in chronic_terms.column_names},
        "person_key": pa.array(person_key),
        "ord": pa.array(_order_within_person(person_key, table), pa.int64()),
        "rid": pa.array(np.arange(n, dtype=np.int64)),
    }
    if policy.outpatient_cap_scope == "household":  # 户内共享: the household holds the outpatient cap
        household, members = households(persons)
        columns["household_id"] = household.take(person)
        columns["household_members"] = members.take(person)
    for name, column in columns.items():
        table = table.append_column(name, column)
    return table


def households(persons: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Each person's ``household_id`` (blank: null, a household of their own) and the number of
    insured persons in that household (1 without a household id): ``outpatient.cap_scope =
    "household"`` shares the outpatient cap among them (``household_cap = "per_member"``)."""
    n = persons.num_rows
    if "household_id" not in persons.column_names:
        return pa.nulls(n, pa.string()), pa.array(np.ones(n, dtype=np.int64))
    ids = pc.utf8_trim_whitespace(persons.column("household_id").cast(pa.string()))
    ids = pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    insured = pc.equal(persons.column("insured").cast(pa.int8()), 1)
    counted = pc.and_(insured, pc.is_valid(ids))
    counts = (
        pa.table({"household_id": ids, "insured": insured})
        .filter(counted)
        .group_by("household_id")
        .aggregate([("insured", "count")])
    )
    found = pc.index_in(ids, value_set=counts.column("household_id"))
    members = pc.fill_null(counts.column("insured_count").cast(pa.int64()).take(found), 1)
    members = members.combine_chunks() if isinstance(members, pa.ChunkedArray) else members
    return ids, members


def _places(institutions: pa.Table) -> pa.Array:
    """Each institution's place (``model.PLACES``): as given, or ``county`` when blank and in the
    county (an institutions file without the column keeps working), else null."""
    in_county = pc.equal(institutions.column("in_county").cast(pa.int8()), 1)
    default = pc.if_else(in_county, pa.scalar("county"), pa.scalar(None, pa.string()))
    if "place" not in institutions.column_names:
        return default.combine_chunks() if isinstance(default, pa.ChunkedArray) else default
    given = institutions.column("place").cast(pa.string())
    filled = pc.coalesce(given, default)
    return filled.combine_chunks() if isinstance(filled, pa.ChunkedArray) else filled


def align(rows: pa.Table, n: int) -> pa.Table:
    """Spread ``rows`` (with a ``rid`` column) over ``n`` rows by position; absent rows are null."""
    positions = np.full(n, -1, dtype=np.int64)
    positions[rows.column("rid").to_numpy()] = np.arange(rows.num_rows, dtype=np.int64)
    index = pa.array(positions, mask=positions < 0)
    return rows.drop_columns(["rid"]).take(index)


def _sorted(ids: pa.ChunkedArray) -> bool:
    """True when ``ids`` has no nulls and never decreases (one vectorised comparison, no sort)."""
    if ids.null_count or len(ids) < 2:
        return bool(ids.null_count == 0)
    return bool(pc.all(pc.less_equal(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py())


def person_rows(person_ids: pa.ChunkedArray, known: pa.ChunkedArray) -> pa.Array:
    """Each id's row among ``known`` (null when not there; an id listed twice: its first row)."""
    return _person_rows(person_ids, known)[0]


def _person_rows(person_ids: pa.ChunkedArray, known: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Each claim's row in the persons table (null when unknown), and its person key.

    The key is that row, or for a person not in the table a number after all rows, one per
    distinct id: an integer that groups a person's claims, cheaper to sort and partition by than
    the id text. The lookup is a DuckDB hash join over both cores (an Arrow ``index_in`` of two
    million ids runs on one core and takes three times as long); the matches are put back in
    claim order by position. An id listed twice among the persons keeps its first row, as
    Arrow's ``index_in`` would (``person_id`` is the table's key: the file adapter refuses
    duplicates).
    """
    n = len(person_ids)
    con = duck.connect()
    try:
        con.register(
            "claim_persons", pa.table({"person_id": person_ids, "rid": np.arange(n, dtype=np.int64)})
        )
        con.register("persons", pa.table({"person_id": known, "pos": np.arange(len(known), dtype=np.int64)}))
        matches = con.sql(
            "SELECT rid, pos FROM claim_persons JOIN persons USING (person_id)"
        ).to_arrow_table()
        key = np.full(n, -1, dtype=np.int64)
        key[matches.column("rid").to_numpy()] = matches.column("pos").to_numpy()
        if matches.num_rows != np.count_nonzero(key >= 0):  # an id listed twice: its first row, always
            matches = con.sql(
                "SELECT rid, min(pos) AS pos FROM claim_persons JOIN persons USING (person_id) GROUP BY rid"
            ).to_arrow_table()
            key[matches.column("rid").to_numpy()] = matches.column("pos").to_numpy()
    finally:
        con.close()
    row = pa.array(key.copy(), mask=key < 0)  # a copy: ``key`` changes below, an Arrow array must not
    unknown = np.flatnonzero(key < 0)
    if len(unknown):
        ids = pc.dictionary_encode(person_ids.take(pa.array(unknown)), null_encoding="encode")
        key[unknown] = len(known) + ids.combine_chunks().indices.to_numpy()
    return row, key


def _order_within_person(person_key: np.ndarray, table: pa.Table) -> np.ndarray:
    """1-based rank of each claim among its person's claims by (start_date, end_date, claim_id).

    ``table`` is sorted by claim_id and ``np.lexsort`` is stable, so claim_id breaks the ties.
    """
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    last = np.iinfo(np.int32).max  # a missing date sorts last, as in Arrow's sort
    start, end = (
        pc.fill_null(table.column(name).cast(pa.int32()), last).to_numpy()
        for name in ("start_date", "end_date")
    )
    order = _stable_order(person_key, start, end)
    people = person_key[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = people[1:] != people[:-1]
    first = np.flatnonzero(starts)
    rank = np.arange(n, dtype=np.int64) - np.repeat(first, np.diff(np.append(first, n))) + 1
    ordinal = np.empty(n, dtype=np.int64)
    ordinal[order] = rank
    return ordinal


def _stable_order(*keys: np.ndarray) -> np.ndarray:
    """``np.lexsort(keys[::-1])``: the stable order by ``keys[0]``, then ``keys[1]`` … (integers).

    When the keys' ranges fit in 63 bits together (a county's persons and a year of dates: about
    45), one stable argsort of the keys packed into an int64 gives the same permutation for half
    the CPU of the lexsort (2 M claims: 0.3 against 0.6 s); else the lexsort."""
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    bits = 0
    for key in keys:
        low = int(key.min())
        width = (int(key.max()) - low).bit_length()
        bits += width
        if bits > 63:
            return np.lexsort(keys[::-1])
        packed = (packed << width) | (key.astype(np.int64) - low)
    return np.argsort(packed, kind="stable")


def query(con: duckdb.DuckDBPyConnection | Engine, sql: str, n: int) -> pa.Table:
    """``sql``'s result as Arrow. Large results stream (relational API, no copy); small ones
    take the prepared-statement path, which plans faster (the discharge desk prices one claim).
    On an ``Engine`` (Spark): its ``arrow``."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.arrow(sql)
    if n > SMALL:
        return con.sql(sql).to_arrow_table()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        return con.execute(sql).to_arrow_table()


#: The SQL type of each Arrow type the pricing adds as an all-null column.
_SQL_TYPES = {pa.int64(): "BIGINT", MONEY: "DECIMAL(18,2)"}


class Frame(Protocol):
    """The claim frame the pricing steps (``claims._price``) read as the view ``frame`` and
    extend: positional on DuckDB (``PositionalFrame``), joined on the row id on any engine
    (``JoinedFrame``)."""

    @property
    def con(self) -> duckdb.DuckDBPyConnection | Engine:
        """Where the steps run (``deductible.prepare_deductibles`` creates its tables there)."""

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of ``con``."""

    def execute(self, sql: str) -> None: ...

    def add(self, sql: str, *, ordered: bool) -> None:
        """Add the columns of ``sql`` (first column ``rid``, at most one row per claim; rows
        absent: null). ``ordered``: one row per claim in the frame's order (a projection)."""

    def nulls(self, columns: dict[str, pa.DataType]) -> None:
        """Add all-null columns."""

    def result(self, columns: Sequence[str]) -> pa.Table:
        """``columns`` of every claim, by claim_id."""

    def close(self) -> None: ...


class PositionalFrame:
    """The DuckDB fast path: the Arrow frame of ``claim_frame``, each step's columns appended by
    position (a projection checked to have kept the order, else ``align``)."""

    dialect: Dialect = "duckdb"

    def __init__(self, table: pa.Table, usage: pa.Table, episodes: pa.Table) -> None:
        self.table = table
        self.n = table.num_rows
        self.con = duck.connect()
        self.con.execute("SET preserve_insertion_order = true")
        self.con.register("prior_usage", usage)
        self.con.register("prior_episodes", episodes)
        self.con.register("frame", table)

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def add(self, sql: str, *, ordered: bool) -> None:
        rows = query(self.con, sql, self.n)
        if ordered:
            rid = rows.column("rid").to_numpy()
            if len(rid) != self.n or not np.array_equal(rid, np.arange(self.n)):
                raise AssertionError("a projection over the claim frame changed the row order")
            columns = rows.drop_columns(["rid"])
        else:
            columns = align(rows, self.n)
        self._append(columns)

    def nulls(self, columns: dict[str, pa.DataType]) -> None:
        self._append(pa.table({name: pa.nulls(self.n, kind) for name, kind in columns.items()}))

    def _append(self, columns: pa.Table) -> None:
        for name in columns.column_names:
            self.table = self.table.append_column(name, columns.column(name))
        self.con.register("frame", self.table)

    def result(self, columns: Sequence[str]) -> pa.Table:
        return self.table.select(list(columns))

    def close(self) -> None:
        self.con.close()


class JoinedFrame:
    """The claim frame on any ``Engine`` (Spark's executors hold it, no row positions): built in
    SQL by ``CLAIM_FRAME_SQL`` (lookups as joins, ``ord`` a ``row_number`` window, ``rid`` the
    claim id), each step a table joined back on ``rid``; ``frame`` is a view of the latest."""

    def __init__(
        self,
        engine: Engine,
        claims: pa.Table,
        persons: pa.Table,
        institutions: pa.Table,
        policy: InsurancePolicy,
        usage: pa.Table,
        episodes: pa.Table,
    ) -> None:
        self.con = engine
        self.dialect = engine.dialect
        self.step = 0
        if "inpatient_category" not in claims.column_names:
            claims = claims.append_column("inpatient_category", pa.nulls(claims.num_rows, pa.string()))
        codes = [c.code for c in policy.chronic_diseases]
        pooled = (
            policy.outpatient_cap_scope == "household"
        )  # 户内共享: the household holds the outpatient cap
        household = dict(zip(("household_id", "household_members"), households(persons), strict=True))
        inputs = {
            "claims_in": claims.select(list(CLAIMS_SCHEMA.names)).cast(CLAIMS_SCHEMA),
            "persons_in": pa.table(
                {
                    "person_id": persons.column("person_id"),
                    "category": persons.column("category"),
                    "insured": persons.column("insured").cast(pa.int8()),
                    **(household if pooled else {}),
                    "pos": pa.array(np.arange(persons.num_rows, dtype=np.int64)),
                }
            ),
            "institutions_in": pa.table(
                {
                    "institution_id": institutions.column("institution_id"),
                    "level": institutions.column("level").cast(pa.int64()),
                    "designated": institutions.column("designated").cast(pa.int8()),
                    "in_county": institutions.column("in_county").cast(pa.int8()),
                    "place": _places(institutions),
                    "pos": pa.array(np.arange(institutions.num_rows, dtype=np.int64)),
                }
            ),
            "chronic_terms": pa.table(
                {
                    "chronic_code": pa.array(codes, pa.string()),
                    "chronic_name": pa.array([c.name for c in policy.chronic_diseases], pa.string()),
                    "chronic_amount": pa.array([c.annual_amount for c in policy.chronic_diseases], MONEY),
                    "chronic_ratio": pa.array([c.ratio for c in policy.chronic_diseases], RATIO),
                    "pos": pa.array(np.arange(len(codes), dtype=np.int64)),
                }
            ),
            "prior_usage": usage,
            "prior_episodes": episodes,
        }
        self.registered = list(inputs)
        for name, table in inputs.items():
            engine.register(name, table)
        columns = ", p.household_id, p.household_members" if pooled else ""
        engine.execute(f"CREATE TABLE frame_0 AS {CLAIM_FRAME_SQL.format(household=columns)}")
        engine.execute("CREATE VIEW frame AS SELECT * FROM frame_0")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def _next(self, select: str) -> None:
        before, self.step = self.step, self.step + 1
        self.con.execute(f"CREATE TABLE frame_{self.step} AS {select}")
        self.con.execute("DROP VIEW frame")
        self.con.execute(f"CREATE VIEW frame AS SELECT * FROM frame_{self.step}")
        self.con.execute(f"DROP TABLE frame_{before}")

    def add(self, sql: str, *, ordered: bool) -> None:
        # the step is a view, computed once inside the join that is kept as the next frame
        name = f"step_{self.step + 1}"
        self.con.execute(f"CREATE VIEW {name} AS {sql}")
        columns = [c for c in self.con.arrow(f"SELECT * FROM {name} LIMIT 0").column_names if c != "rid"]
        picked = ", ".join(f"s.{c}" for c in columns)
        self._next(f"SELECT f.*, {picked} FROM frame_{self.step} f LEFT JOIN {name} s ON s.rid = f.rid")
        self.con.execute(f"DROP VIEW {name}")

    def nulls(self, columns: dict[str, pa.DataType]) -> None:
        added = ", ".join(f"CAST(NULL AS {_SQL_TYPES[kind]}) AS {name}" for name, kind in columns.items())
        self._next(f"SELECT *, {added} FROM frame_{self.step}")

    def result(self, columns: Sequence[str]) -> pa.Table:
        # Sorted here, on the driver: Spark's Arrow of an ORDER BY query came back in blocks out
        # of order (22,332 claims, local[2]); claim ids are unique, so the order is total.
        table = self.con.arrow(f"SELECT {', '.join(columns)} FROM frame")
        return table.take(pc.sort_indices(table.column("claim_id")))

    def close(self) -> None:
        for name in self.registered:
            self.con.unregister(name)


#: The claim frame in SQL (``JoinedFrame``): ``claim_frame``'s columns by joins and a window.
#: A person or institution listed twice keeps its first row (as ``claim_frame``'s lookups);
#: missing dates sort last.
CLAIM_FRAME_SQL = """
    SELECT c.*, p.category, p.insured, i.level, i.designated, i.in_county, i.place,
           t.chronic_code, t.chronic_name, t.chronic_amount, t.chronic_ratio,
           c.person_id AS person_key,
           CAST(row_number() OVER (PARTITION BY c.person_id
                                   ORDER BY c.start_date NULLS LAST, c.end_date NULLS LAST, c.claim_id) AS BIGINT)
               AS ord,
           c.claim_id AS rid{household}
    FROM claims_in c
    LEFT JOIN (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY pos) AS k
                              FROM persons_in) AS x WHERE k = 1) AS p ON p.person_id = c.person_id
    LEFT JOIN (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY institution_id ORDER BY pos) AS k
                              FROM institutions_in) AS x WHERE k = 1) AS i ON i.institution_id = c.institution_id
    LEFT JOIN (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY chronic_code ORDER BY pos) AS k
                              FROM chronic_terms) AS x WHERE k = 1) AS t
        ON c.kind = 'outpatient' AND t.chronic_code = c.chronic_disease
"""
