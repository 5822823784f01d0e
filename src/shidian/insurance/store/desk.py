"""The discharge desk's tables (出院即时结算): person-years, desk claims; statements only, no rules.

Claims of one person and year are serialised by the person's ``insurance_person_years`` row,
which one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` creates if needed and locks: on
PostgreSQL a row lock, as ``SELECT … FOR UPDATE`` takes; on SQLite the statement is a write,
which takes the database's write lock for the rest of the transaction (``BEGIN IMMEDIATE``
semantics). Either way a second claim of the person waits until the first has committed, then
reads the state it left: the caps and the deductible are never used twice, however many
processes serve the desk. A household's shared outpatient cap (户内共享) is serialised by every
member's row, locked in person id order (``lock_household_years``).

The per-claim statements are built once per database: building and keying a statement for
SQLAlchemy's compiled cache costs more than running it, and the desk runs them per claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shidian.insurance.desk_claim import show
from shidian.insurance.desk_state import DeskState, DeskStay
from shidian.insurance.store.datasets import DOMAIN
from shidian.money import ZERO, to_fen
from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import (
    insurance_desk_claims,
    insurance_institutions,
    insurance_person_years,
    insurance_persons,
)
from shidian.platform.db.schema import datasets


@dataclass(frozen=True)
class PersonYear:
    """A person's locked year row: its key, version, number of desk claims and the state."""

    year: int
    person_id: str
    version: int
    claims: int
    state: DeskState


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else to_fen(value)


def _state_of(row: Mapping[str, Any]) -> DeskState:
    return DeskState(
        usage={bucket: Decimal(used) for bucket, used in (row["usage"] or {}).items()},
        stays=tuple(
            DeskStay(s["claim_id"], s["episode_id"], Decimal(s["deductible_basis"]), int(s["county_counted"]))
            for s in row["stays"] or []
        ),
    )


def _state_values(state: DeskState) -> dict[str, Any]:
    return {
        "usage": {b: show("cap_used", u) for b, u in sorted(state.usage.items())},
        "stays": [
            {
                "claim_id": s.claim_id,
                "episode_id": s.episode_id,
                "deductible_basis": show("deductible_basis", s.deductible_basis),
                "county_counted": s.county_counted,
            }
            for s in state.stays
        ],
        # every inpatient bucket: the shared cap's, or each tier's (cap_scope = "tier")
        "inpatient_used_fen": _fen(
            sum((u for b, u in state.usage.items() if b == "inpatient" or b.startswith("inpatient:")), ZERO)
        ),
    }


def _lock_statement(dialect: Any) -> Any:
    table = insurance_person_years
    return (
        dialect.insert(table)
        .values({c: sa.bindparam(c, type_=table.c[c].type) for c in ("year", "person_id", "usage", "stays")})
        .values(inpatient_used_fen=0, claims=0, version=0)
        .on_conflict_do_update(
            index_elements=[table.c.year, table.c.person_id], set_={"version": table.c.version}
        )
        .returning(*table.c)
    )


_LOCK = {"postgresql": _lock_statement(postgresql), "sqlite": _lock_statement(sqlite)}


def lock_person_year(conn: sa.Connection, year: int, person_id: str) -> PersonYear:
    """Make sure the person's year row exists, lock it and return it, in one statement.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on both databases: on PostgreSQL the row is
    locked (as by ``SELECT … FOR UPDATE``) and the latest committed version returned, after
    waiting for any transaction holding it; on SQLite the statement is a write, which takes the
    database's write lock for the rest of the transaction (``BEGIN IMMEDIATE`` semantics).
    """
    result = conn.execute(
        _LOCK[conn.dialect.name], {"year": year, "person_id": person_id, "usage": {}, "stays": []}
    )
    row = dict(result.mappings().one())
    return PersonYear(row["year"], row["person_id"], int(row["version"]), int(row["claims"]), _state_of(row))


_MEMBERS = (
    sa.select(insurance_persons.c.person_id)
    .where(
        insurance_persons.c.dataset_id == sa.bindparam("dataset_id"),
        insurance_persons.c.household_id == sa.bindparam("household_id"),
    )
    .order_by(insurance_persons.c.person_id)
)


def household_members(conn: sa.Connection, dataset_id: str, household_id: str) -> list[str]:
    """The person ids of the household ``household_id`` (户号) in the dataset, in person id order:
    the order a pooled claim locks their years in (one order for every claim: no deadlock)."""
    return list(conn.execute(_MEMBERS, {"dataset_id": dataset_id, "household_id": household_id}).scalars())


def lock_household_years(
    conn: sa.Connection, year: int, person_id: str, members: list[str]
) -> tuple[PersonYear, dict[str, PersonYear]]:
    """Lock the years of every member of a household (``members``, the person among them), one
    after the other in person id order, as ``lock_person_year`` locks one: a claim that locks
    several years always takes them in the same order, and every other claim takes one only, so
    no two claims wait for each other. Returns the person's year and the others'."""
    years = {m: lock_person_year(conn, year, m) for m in sorted({*members, person_id})}
    own = years.pop(person_id)
    return own, years


def read_household_years(conn: sa.Connection, year: int, members: list[str]) -> dict[str, DeskState]:
    """The years of ``members`` as they stand (no lock: for display and 试算; pricing locks)."""
    table = insurance_person_years
    rows = conn.execute(
        sa.select(table).where(table.c.year == year, table.c.person_id.in_(members))
    ).mappings()
    return {row["person_id"]: _state_of(dict(row)) for row in rows}


_STORED_CLAIM = sa.select(insurance_desk_claims).where(
    insurance_desk_claims.c.institution_id == sa.bindparam("institution_id"),
    insurance_desk_claims.c.claim_id == sa.bindparam("claim_id"),
)


def stored_claim(conn: sa.Connection, institution_id: str, claim_id: str) -> dict[str, Any] | None:
    """The institution's desk claim ``claim_id`` (request, priced, response, reversal …), or
    None. A claim id is the institution's own: another institution's claim is never read."""
    row = conn.execute(_STORED_CLAIM, {"institution_id": institution_id, "claim_id": claim_id})
    found = row.mappings().first()
    return None if found is None else dict(found)


def institutions_with_claim(conn: sa.Connection, claim_id: str) -> list[str]:
    """The institutions that have a desk claim ``claim_id`` (for users who see the county)."""
    query = (
        sa.select(insurance_desk_claims.c.institution_id)
        .where(insurance_desk_claims.c.claim_id == claim_id)
        .order_by(insurance_desk_claims.c.institution_id)
    )
    return list(conn.execute(query).scalars())


def _lookup_statement() -> sa.Select[Any]:
    persons, institutions, claims = insurance_persons, insurance_institutions, insurance_desk_claims
    latest = (
        sa.select(datasets.c.id)
        .where(datasets.c.domain == DOMAIN, datasets.c.year == sa.bindparam("year"))
        .order_by(datasets.c.uploaded_at.desc(), datasets.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        sa.select(
            datasets.c.id.label("dataset_id"),
            datasets.c.manifest,
            persons.c.category,
            persons.c.insured,
            persons.c.household_id,
            persons.c.household_members,
            institutions.c.level,
            institutions.c.designated,
            institutions.c.in_county,
            institutions.c.place,
            claims.c.claim_id.label("stored_id"),
        )
        .select_from(
            datasets.outerjoin(
                persons,
                sa.and_(
                    persons.c.dataset_id == datasets.c.id, persons.c.person_id == sa.bindparam("person_id")
                ),
            )
            .outerjoin(
                institutions,
                sa.and_(
                    institutions.c.dataset_id == datasets.c.id,
                    institutions.c.institution_id == sa.bindparam("institution_id"),
                ),
            )
            .outerjoin(
                claims,
                sa.and_(
                    claims.c.institution_id == sa.bindparam("institution_id"),
                    claims.c.claim_id == sa.bindparam("claim_id"),
                ),
            )
        )
        .where(datasets.c.id == latest)
    )


_LOOKUP = _lookup_statement()


def lookup(conn: sa.Connection, claim: Mapping[str, Any]) -> dict[str, Any] | None:
    """In one query: the year's desk dataset, the person and the institution in it, and the
    institution's claim of that id if the desk has it already. None when no insurance dataset of the year exists."""
    parameters = {
        "year": claim["end_date"].year,
        "person_id": claim["person_id"],
        "institution_id": claim["institution_id"],
        "claim_id": claim["claim_id"],
    }
    row = conn.execute(_LOOKUP, parameters).mappings().first()
    return None if row is None else dict(row)


def _claim_insert(dialect: Any) -> Any:
    table = insurance_desk_claims
    columns = [c.name for c in table.c if c.name not in ("reversed_by", "reversed_at", "reversal")]
    return (
        dialect.insert(table)
        .values({c: sa.bindparam(f"c_{c}", type_=table.c[c].type) for c in columns})
        .on_conflict_do_nothing(index_elements=[table.c.institution_id, table.c.claim_id])
        .returning(table.c.claim_id)
    )


_STATE_COLUMNS = ("usage", "stays", "inpatient_used_fen", "claims", "version", "updated_at")
_SAVE_STATE = (
    insurance_person_years.update()
    .where(
        insurance_person_years.c.year == sa.bindparam("w_year"),
        insurance_person_years.c.person_id == sa.bindparam("w_person_id"),
        insurance_person_years.c.version == sa.bindparam("w_version"),
    )
    .values({c: sa.bindparam(f"s_{c}", type_=insurance_person_years.c[c].type) for c in _STATE_COLUMNS})
)


def _record_statement() -> Any:
    """PostgreSQL: insert the claim and save the person's year in one statement.

    Two data-modifying CTEs: the state is updated only when the claim row was inserted (not when
    a twin of the request got there first); the statement answers how many rows each wrote.
    """
    inserted = _claim_insert(postgresql).cte("inserted")
    updated = (
        _SAVE_STATE.where(sa.exists(sa.select(inserted.c.claim_id)))
        .returning(insurance_person_years.c.version)
        .cte("updated")
    )
    return sa.select(
        sa.select(sa.func.count()).select_from(inserted).scalar_subquery().label("inserted"),
        sa.select(sa.func.count()).select_from(updated).scalar_subquery().label("updated"),
    )


_RECORD_POSTGRESQL = _record_statement()
_INSERT_CLAIM_SQLITE = _claim_insert(sqlite)


def _state_parameters(year: PersonYear, state: DeskState, claims: int) -> dict[str, Any]:
    """Parameters of ``_SAVE_STATE``: the new state of the locked row, one version on."""
    new = {**_state_values(state), "claims": claims, "version": year.version + 1, "updated_at": now()}
    return {
        "w_year": year.year,
        "w_person_id": year.person_id,
        "w_version": year.version,
        **{f"s_{c}": new[c] for c in _STATE_COLUMNS},
    }


def claim_values(priced: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a priced claim fills besides its answer: what it paid and used, in fen."""
    return {
        "reimbursement_fen": _fen(priced["reimbursement"]),
        "cap_bucket": priced["cap_bucket"],
        "cap_used_fen": _fen(priced["cap_used"]),
    }


def record_claim(conn: sa.Connection, claim: Mapping[str, Any], year: PersonYear, after: DeskState) -> bool:
    """Insert the claim and save the person's year (``after``, one claim more); False when the
    institution's claim id is already recorded (nothing written). One statement on PostgreSQL, two on SQLite."""
    parameters = {f"c_{k}": v for k, v in claim.items()}
    state = _state_parameters(year, after, claims=year.claims + 1)
    if conn.dialect.name == "postgresql":  # one round trip
        done = conn.execute(_RECORD_POSTGRESQL, parameters | state).one()
        if done.inserted:
            _state_saved(done.updated)
        return bool(done.inserted)
    if conn.execute(_INSERT_CLAIM_SQLITE, parameters).first() is None:
        return False
    _state_saved(conn.execute(_SAVE_STATE, state).rowcount)
    return True


def _state_saved(rows: int) -> None:
    """The person-year row was updated: the lock makes anything else impossible, so anything
    else is refused loudly (the transaction rolls back) rather than lose a claim's state."""
    if rows != 1:
        raise RuntimeError("insurance_person_years changed under its lock")


def paid_claims_but(
    conn: sa.Connection, year: int, person_id: str, institution_id: str, claim_id: str
) -> list[Mapping[str, Any]]:
    """What ``DeskState.after`` needs of each paid claim of the person's year but the
    institution's ``claim_id``, in pricing order (a 冲正 rebuilds the year from the claims that
    remain; another institution's claim of the same id stays)."""
    rows = conn.execute(
        sa.select(insurance_desk_claims.c.priced)
        .where(
            insurance_desk_claims.c.year == year,
            insurance_desk_claims.c.person_id == person_id,
            insurance_desk_claims.c.status == "paid",
            sa.not_(
                sa.and_(
                    insurance_desk_claims.c.institution_id == institution_id,
                    insurance_desk_claims.c.claim_id == claim_id,
                )
            ),
        )
        .order_by(insurance_desk_claims.c.seq)
    ).all()
    return [_priced_of(r.priced) for r in rows]


def _priced_of(p: Mapping[str, Any]) -> Mapping[str, Any]:
    return {
        "claim_id": p["claim_id"],
        "kind": p["kind"],
        "cap_bucket": p["cap_bucket"],
        "cap_used": None if p["cap_used"] is None else Decimal(p["cap_used"]),
        "episode_id": p["episode_id"],
        "deductible_basis": p["deductible_basis"],
        "county_counted": p["county_counted"],
        "major_oop": None if p.get("major_oop") is None else Decimal(p["major_oop"]),
        "month": p.get("month"),
        "end_date": p.get("end_date"),
        "day_visit": p.get("day_visit"),
        "month_cap_used": None if p.get("month_cap_used") is None else Decimal(p["month_cap_used"]),
    }


def save_reversal(
    conn: sa.Connection,
    institution_id: str,
    claim_id: str,
    user_id: int | None,
    at: dt.datetime,
    reversal: Mapping[str, Any],
    year: PersonYear,
    after: DeskState,
) -> None:
    """Mark the claim reversed with its reversal answer and save the person's year ``after``."""
    conn.execute(
        insurance_desk_claims.update()
        .where(insurance_desk_claims.c.institution_id == institution_id)
        .where(insurance_desk_claims.c.claim_id == claim_id)
        .values(status="reversed", reversed_by=user_id, reversed_at=at, reversal=dict(reversal))
    )
    _state_saved(conn.execute(_SAVE_STATE, _state_parameters(year, after, claims=year.claims)).rowcount)


def summary_by_institution(conn: sa.Connection, own: str | None) -> list[dict[str, Any]]:
    """Paid desk claims per institution (count, fen), of ``own`` only when given, with names."""
    claims, institutions = insurance_desk_claims, insurance_institutions
    where = [claims.c.status == "paid"] + ([claims.c.institution_id == own] if own else [])
    rows = conn.execute(
        sa.select(
            claims.c.institution_id,
            sa.func.count().label("claims"),
            sa.func.sum(claims.c.reimbursement_fen).label("fen"),
        )
        .where(*where)
        .group_by(claims.c.institution_id)
        .order_by(claims.c.institution_id)
    ).mappings()
    summary = [dict(r) for r in rows]
    names = dict(conn.execute(sa.select(institutions.c.institution_id, institutions.c.name).distinct()).all())
    for row in summary:
        row["name"] = names.get(row["institution_id"], "")
    return summary


def recent_claims(conn: sa.Connection, own: str | None, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` desk claims, of ``own`` only when given."""
    query = sa.select(insurance_desk_claims).order_by(insurance_desk_claims.c.created_at.desc()).limit(limit)
    if own:
        query = query.where(insurance_desk_claims.c.institution_id == own)
    return [dict(r) for r in conn.execute(query).mappings()]


def paid_requests(conn: sa.Connection, dataset_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The claims paid at the desk against a dataset (not reversed), by claim id and institution
    (a claim id is an institution's own): each request as recorded, and what the desk paid (yuan,
    as text)."""
    rows = conn.execute(
        sa.select(
            insurance_desk_claims.c.request,
            insurance_desk_claims.c.response["reimbursement"].as_string().label("paid"),
        )
        .where(insurance_desk_claims.c.dataset_id == dataset_id, insurance_desk_claims.c.status == "paid")
        .order_by(insurance_desk_claims.c.claim_id, insurance_desk_claims.c.institution_id)
    ).all()
    return [r.request for r in rows], [r.paid for r in rows]


def desk_dataset(conn: sa.Connection, year: int | None) -> dict[str, Any] | None:
    """The dataset the desk prices ``year``'s claims against (the latest of the year; without a
    year, the latest dataset of the latest year): id, year, manifest; None when there is none."""
    query = sa.select(datasets.c.id, datasets.c.year, datasets.c.manifest).where(datasets.c.domain == DOMAIN)
    if year is not None:
        query = query.where(datasets.c.year == year)
    query = query.order_by(datasets.c.year.desc(), datasets.c.uploaded_at.desc(), datasets.c.id).limit(1)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def desk_years(conn: sa.Connection) -> list[int]:
    """The years the desk has a dataset for, the latest first."""
    query = (
        sa.select(datasets.c.year)
        .where(datasets.c.domain == DOMAIN)
        .distinct()
        .order_by(datasets.c.year.desc())
    )
    return [int(y) for y in conn.execute(query).scalars()]


def person_and_institution(
    conn: sa.Connection, dataset_id: str, person_id: str, institution_id: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The person's and the institution's rows in the dataset (None where absent)."""
    person = (
        conn.execute(
            sa.select(insurance_persons).where(
                insurance_persons.c.dataset_id == dataset_id, insurance_persons.c.person_id == person_id
            )
        )
        .mappings()
        .first()
    )
    institution = None
    if institution_id is not None:
        institution = (
            conn.execute(
                sa.select(insurance_institutions).where(
                    insurance_institutions.c.dataset_id == dataset_id,
                    insurance_institutions.c.institution_id == institution_id,
                )
            )
            .mappings()
            .first()
        )
    return (None if person is None else dict(person), None if institution is None else dict(institution))


def read_person_year(conn: sa.Connection, year: int, person_id: str) -> DeskState:
    """The person's year as it stands (no lock: for display; pricing locks)."""
    row = (
        conn.execute(
            sa.select(insurance_person_years).where(
                insurance_person_years.c.year == year, insurance_person_years.c.person_id == person_id
            )
        )
        .mappings()
        .first()
    )
    return DeskState() if row is None else _state_of(dict(row))


def claims_since(
    conn: sa.Connection, own: str | None, since: dt.datetime, limit: int
) -> list[dict[str, Any]]:
    """Desk claims recorded from ``since`` on, the latest first, of ``own`` only when given."""
    table = insurance_desk_claims
    query = (
        sa.select(table).where(table.c.created_at >= since).order_by(table.c.created_at.desc()).limit(limit)
    )
    if own:
        query = query.where(table.c.institution_id == own)
    return [dict(r) for r in conn.execute(query).mappings()]
