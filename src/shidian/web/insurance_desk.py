"""The discharge desk (出院即时结算): price a claim against the person's year, record it, reverse it.

``post_claim`` and ``reverse_claim`` run inside the request's transaction; what they refuse they
raise as ``DeskError``, which changes nothing: a refusal after a write (``DeskError.wrote``)
rolls the transaction back, not even the person's year row a lock created is left. Claims of one
person and year are serialised by the person's ``insurance_person_years`` row, which one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` creates if needed and locks: on PostgreSQL a row
lock, as ``SELECT … FOR UPDATE`` takes; on SQLite the statement is a write, which takes the
database's write lock for the rest of the transaction (``BEGIN IMMEDIATE`` semantics). Either
way a second claim of the person waits until the first has committed, then reads the state it
left: the caps and the deductible are never used twice, however many processes serve the desk.

Pricing is ``shidian.insurance.desk.price_claim`` (the scalar twin of the batch's
``price_claims``, pinned to it by a property test), with the policy of the dataset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shidian.insurance.desk import (
    DeskInstitution,
    DeskPerson,
    DeskState,
    DeskStay,
    claim_problems,
    price_claim,
    refusal,
)
from shidian.money import FEN, to_fen
from shidian.platform.accounts import User
from shidian.platform.clock import now
from shidian.platform.db.insurance_schema import (
    insurance_desk_claims,
    insurance_institutions,
    insurance_person_years,
    insurance_persons,
)
from shidian.platform.db.schema import datasets
from shidian.problems import Problem, Source
from shidian.web.insurance_datasets import DOMAIN, insurance_policy

RATIO = Decimal("0.0001")
#: reject code → the request field it is about (the problem names it).
REJECT_FIELDS = {
    "not_insured": "person_id",
    "unknown_institution": "institution_id",
    "outside_year": "end_date",
    "items_exceed_total": "total_cost",
    "not_designated": "institution_id",
    "not_referred": "referral",
    "outpatient_level": "institution_id",
}
SOURCE = "<request>"


@dataclass
class DeskError(Exception):
    """A desk request that cannot be served: HTTP status and problems (the one error shape).

    ``wrote``: refused after a write (the lock's person-year row): the transaction must roll
    back. Refusals before any write commit their read-only transaction instead: on a ROLLBACK
    psycopg drops every statement it has prepared on the connection.
    """

    status: int
    problems: list[Problem]
    wrote: bool = False


def _problem(code: str, message: str, field: str | None) -> Problem:
    return Problem(code, message, Source(SOURCE, column=field))


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else to_fen(value)


def show(name: str, value: Any) -> Any:
    """A priced value as JSON: money with 2 decimals, ratios with 4, dates ISO."""
    if isinstance(value, Decimal):
        return f"{value.quantize(RATIO if name == 'ratio' else FEN):f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical(claim: Mapping[str, Any]) -> dict[str, Any]:
    """The request as stored and compared for idempotency (same meaning → same dict)."""
    return {k: show(k, v) for k, v in sorted(claim.items())}


def may_post_for(user: User, institution_id: str) -> bool:
    """Settlement officers post for any institution; a hospital user for its own only."""
    if user.role == "hospital":
        return user.hospital_id is not None and user.hospital_id == institution_id
    return user.role == "settlement_officer"


def _state_of(row: Mapping[str, Any] | None) -> DeskState:
    if row is None:
        return DeskState()
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
        "inpatient_used_fen": _fen(state.used("inpatient")),
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


#: The desk's statements are built once per database: building and keying a statement for
#: SQLAlchemy's compiled cache costs more than running it, and the desk runs them per claim.
_LOCK = {"postgresql": _lock_statement(postgresql), "sqlite": _lock_statement(sqlite)}


def _lock_person_year(conn: sa.Connection, year: int, person_id: str) -> dict[str, Any]:
    """Make sure the person's year row exists, lock it and return it, in one statement.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on both databases: on PostgreSQL the row is
    locked (as by ``SELECT … FOR UPDATE``) and the latest committed version returned, after
    waiting for any transaction holding it; on SQLite the statement is a write, which takes the
    database's write lock for the rest of the transaction (``BEGIN IMMEDIATE`` semantics).
    """
    row = conn.execute(
        _LOCK[conn.dialect.name], {"year": year, "person_id": person_id, "usage": {}, "stays": []}
    )
    return dict(row.mappings().one())


_STORED_CLAIM = sa.select(insurance_desk_claims).where(
    insurance_desk_claims.c.claim_id == sa.bindparam("claim_id")
)


def _stored_claim(conn: sa.Connection, claim_id: str) -> dict[str, Any] | None:
    row = conn.execute(_STORED_CLAIM, {"claim_id": claim_id})
    found = row.mappings().first()
    return None if found is None else dict(found)


def _replay(stored: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """The same claim id again: the first answer, or 409 when the body differs."""
    if stored["request"] != request:
        differing = sorted(
            k for k in set(stored["request"]) | set(request) if stored["request"].get(k) != request.get(k)
        )
        raise DeskError(
            409,
            [
                _problem(
                    "insurance.claim.id_reused",
                    f"就诊编号 {stored['claim_id']} 已用于另一笔不同的结算 (字段 {', '.join(differing)} 不同); "
                    "同一编号重发须与首次完全相同 (claim id already used with a different body)",
                    "claim_id",
                )
            ],
        )
    return dict(stored["response"])


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
            institutions.c.level,
            institutions.c.designated,
            institutions.c.in_county,
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
            .outerjoin(claims, claims.c.claim_id == sa.bindparam("claim_id"))
        )
        .where(datasets.c.id == latest)
    )


_LOOKUP = _lookup_statement()


def _lookup(conn: sa.Connection, claim: Mapping[str, Any]) -> dict[str, Any] | None:
    """In one query: the year's desk dataset, the person and the institution in it, and the
    claim if the desk has it already. None when no insurance dataset of the year exists."""
    parameters = {
        "year": claim["end_date"].year,
        "person_id": claim["person_id"],
        "institution_id": claim["institution_id"],
        "claim_id": claim["claim_id"],
    }
    row = conn.execute(_LOOKUP, parameters).mappings().first()
    return None if row is None else dict(row)


def post_claim(conn: sa.Connection, user: User, claim: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Price and record one claim; returns (the answer, whether it was recorded just now)."""
    institution_id, person_id, claim_id = claim["institution_id"], claim["person_id"], claim["claim_id"]
    if not may_post_for(user, institution_id):
        raise DeskError(
            403,
            [
                _problem(
                    "auth.forbidden",
                    f"无权为医疗机构 {institution_id} 结算 (not your institution)",
                    "institution_id",
                )
            ],
        )
    request = canonical(claim)
    year = claim["end_date"].year
    found = _lookup(conn, claim)
    if found is None or found["stored_id"] is not None:
        stored = _stored_claim(conn, claim_id)
        if stored is not None:
            return _replay(stored, request), False
    if found is None:
        raise DeskError(
            422,
            [
                _problem(
                    "insurance.claim.outside_year",
                    f"结束日期 {claim['end_date']} 所在的 {year} 年度没有导入参合数据, 不能结算 "
                    f"(no insurance dataset for {year})",
                    "end_date",
                )
            ],
        )
    policy = insurance_policy(found["manifest"]["policy_id"])
    if found["category"] is None:
        raise DeskError(
            422,
            [
                _problem(
                    "insurance.claim.unknown_person",
                    f"人员 {person_id} 不在 {year} 年度参合数据中 (unknown person)",
                    "person_id",
                )
            ],
        )
    if found["level"] is None:
        raise DeskError(
            422,
            [
                _problem(
                    "insurance.claim.unknown_institution",
                    f"医疗机构 {institution_id} 不在 {year} 年度医疗机构名单中 (unknown institution)",
                    "institution_id",
                )
            ],
        )
    who = DeskPerson(found["category"], found["insured"])
    where = DeskInstitution(found["level"], found["designated"], found["in_county"])
    problems = claim_problems(claim, policy, SOURCE)
    if problems:
        raise DeskError(
            422, [Problem(p.code, p.message, Source(SOURCE, column=p.where.column)) for p in problems]
        )
    # A claim the fund does not pay is refused before anything is locked or written.
    refused = refusal(claim, who, where, policy)
    if refused is not None:
        code, reason = refused
        raise DeskError(422, [_problem(f"insurance.claim.{code}", reason, REJECT_FIELDS[code])])
    row = _lock_person_year(conn, year, person_id)
    state = _state_of(row)
    priced = price_claim(claim, who, where, policy, state)
    shown = {k: show(k, v) for k, v in priced.items()}
    response = {
        "claim_id": claim_id,
        "status": "paid",
        "person_id": person_id,
        "institution_id": institution_id,
        "year": year,
        "dataset_id": found["dataset_id"],
        "policy_id": policy.name,
        "seq": int(row["claims"]) + 1,
        "reimbursement": shown["reimbursement"],
        "reimbursable": shown["reimbursable"],
        "deductible": shown["deductible"],
        "rule": shown["rule"],
        "cap_bucket": shown["cap_bucket"],
        "cap_before": shown["cap_before"],
        "cap_after": shown["cap_after"],
        "reason": shown["reason"],
        "priced": shown,
    }
    values = {
        "claim_id": claim_id,
        "year": year,
        "person_id": person_id,
        "institution_id": institution_id,
        "dataset_id": found["dataset_id"],
        "policy_id": policy.name,
        "status": "paid",
        "seq": response["seq"],
        "request": request,
        "priced": shown,
        "response": response,
        "reimbursement_fen": _fen(priced["reimbursement"]),
        "cap_bucket": priced["cap_bucket"],
        "cap_used_fen": _fen(priced["cap_used"]),
        "created_by": user.id,
        "created_at": now(),
    }
    state_values = _state_parameters(row, state.after(priced), claims=int(row["claims"]) + 1)
    if not _record(conn, values, state_values):  # a twin of this request landed while we waited
        stored = _stored_claim(conn, claim_id)
        assert stored is not None
        try:
            return _replay(stored, request), False
        except DeskError as exc:  # the claim id went to another person's claim meanwhile
            exc.wrote = True
            raise
    return response, True


def _claim_insert(dialect: Any) -> Any:
    table = insurance_desk_claims
    columns = [c.name for c in table.c if c.name not in ("reversed_by", "reversed_at", "reversal")]
    return (
        dialect.insert(table)
        .values({c: sa.bindparam(f"c_{c}", type_=table.c[c].type) for c in columns})
        .on_conflict_do_nothing(index_elements=[table.c.claim_id])
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


def _state_parameters(row: Mapping[str, Any], state: DeskState, claims: int) -> dict[str, Any]:
    """Parameters of ``_SAVE_STATE``: the new state of the locked row, one version on."""
    new = {**_state_values(state), "claims": claims, "version": int(row["version"]) + 1, "updated_at": now()}
    return {
        "w_year": row["year"],
        "w_person_id": row["person_id"],
        "w_version": row["version"],
        **{f"s_{c}": new[c] for c in _STATE_COLUMNS},
    }


def _record(conn: sa.Connection, claim: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Insert the claim and save the state; False when the claim id is already recorded."""
    parameters = {f"c_{k}": v for k, v in claim.items()}
    if conn.dialect.name == "postgresql":  # one round trip
        done = conn.execute(_RECORD_POSTGRESQL, parameters | dict(state)).one()
        if done.inserted:
            _state_saved(done.updated)
        return bool(done.inserted)
    if conn.execute(_INSERT_CLAIM_SQLITE, parameters).first() is None:
        return False
    _state_saved(conn.execute(_SAVE_STATE, state).rowcount)
    return True


def _save_state(conn: sa.Connection, row: Mapping[str, Any], state: DeskState, claims: int) -> None:
    _state_saved(conn.execute(_SAVE_STATE, _state_parameters(row, state, claims)).rowcount)


def _state_saved(rows: int) -> None:
    """The person-year row was updated: the lock makes anything else impossible, so anything
    else is refused loudly (the transaction rolls back) rather than lose a claim's state."""
    if rows != 1:
        raise RuntimeError("insurance_person_years changed under its lock")


def _priced_of(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What ``DeskState.after`` needs of a stored priced row."""
    p = stored["priced"]
    return {
        "claim_id": p["claim_id"],
        "kind": p["kind"],
        "cap_bucket": p["cap_bucket"],
        "cap_used": None if p["cap_used"] is None else Decimal(p["cap_used"]),
        "episode_id": p["episode_id"],
        "deductible_basis": p["deductible_basis"],
        "county_counted": p["county_counted"],
    }


def reverse_claim(conn: sa.Connection, user: User, claim_id: str) -> tuple[dict[str, Any], bool]:
    """冲正: reverse a desk claim and free what it used; the second time, the first answer."""
    stored = _stored_claim(conn, claim_id)
    if stored is None:
        raise DeskError(
            404, [_problem("not_found", f"没有就诊编号为 {claim_id} 的即时结算 (no such claim)", "claim_id")]
        )
    if not may_post_for(user, stored["institution_id"]):
        raise DeskError(
            403,
            [
                _problem(
                    "auth.forbidden",
                    f"无权冲正医疗机构 {stored['institution_id']} 的结算 (not your institution)",
                    None,
                )
            ],
        )
    row = _lock_person_year(conn, stored["year"], stored["person_id"])
    stored = _stored_claim(conn, claim_id)
    assert stored is not None
    if stored["status"] == "reversed":
        return dict(stored["reversal"]), False
    remaining = conn.execute(
        sa.select(insurance_desk_claims.c.priced)
        .where(
            insurance_desk_claims.c.year == stored["year"],
            insurance_desk_claims.c.person_id == stored["person_id"],
            insurance_desk_claims.c.status == "paid",
            insurance_desk_claims.c.claim_id != claim_id,
        )
        .order_by(insurance_desk_claims.c.seq)
    ).all()
    before = _state_of(row)
    after = DeskState.from_priced([_priced_of({"priced": r.priced}) for r in remaining])
    bucket = stored["cap_bucket"]
    freed = before.used(bucket) - after.used(bucket) if bucket else Decimal(0)
    at = now()
    reversal = {
        "claim_id": claim_id,
        "status": "reversed",
        "person_id": stored["person_id"],
        "institution_id": stored["institution_id"],
        "year": stored["year"],
        "reimbursement": stored["priced"]["reimbursement"],
        "cap_bucket": bucket,
        "freed": show("cap_used", freed),
        "usage_after": {b: show("cap_used", u) for b, u in sorted(after.usage.items())},
        "reversed_at": at.isoformat(),
    }
    conn.execute(
        insurance_desk_claims.update()
        .where(insurance_desk_claims.c.claim_id == claim_id)
        .values(status="reversed", reversed_by=user.id, reversed_at=at, reversal=reversal)
    )
    _save_state(conn, row, after, claims=int(row["claims"]))
    return reversal, True


def get_claim(conn: sa.Connection, user: User, claim_id: str) -> dict[str, Any]:
    stored = _stored_claim(conn, claim_id)
    if stored is None or not (
        user.role in ("admin", "leader") or may_post_for(user, stored["institution_id"])
    ):
        raise DeskError(
            404, [_problem("not_found", f"没有就诊编号为 {claim_id} 的即时结算 (no such claim)", "claim_id")]
        )
    return {
        **stored["response"],
        "status": stored["status"],
        "reversal": stored["reversal"],
    }
