"""The discharge desk's workflows (出院即时结算): post a claim, reverse it, read it, the overview.

Each runs in the caller's transaction (the door owns it) and refuses with ``DeskError`` (a
``Refused``), which changes nothing: a refusal after a write (``DeskError.wrote``) must roll
the transaction back, not even the person's year row a lock created is left; a refusal before
any write commits its read-only transaction instead (on a ROLLBACK psycopg drops every
statement it has prepared on the connection).

``post_claim``: one lookup (the year's dataset, the person, the institution, the claim if the
desk has it: a replay answers the first answer), the core's one decision (``desk.decide``, which
locks the person's year only for a claim the fund pays), one write (the claim and the year:
one statement on PostgreSQL), one audit record. Nothing more per claim: the desk has a latency
target (p99 < 20 ms at 50 desks, ``bench/insurance.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from shidian.display import plain
from shidian.insurance import events
from shidian.insurance.desk import DeskInstitution, DeskPerson, DeskState, decide
from shidian.insurance.desk_claim import canonical, show
from shidian.insurance.policy import POLICIES
from shidian.insurance.store import desk as store
from shidian.money import from_fen
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.clock import now
from shidian.problems import Problem, Reason, Refused, Source

SOURCE = "<request>"
RECENT_CLAIMS = 20


class DeskError(Refused):
    """A desk request that cannot be served: the reason and problems (the one error shape).

    ``wrote``: refused after a write (the lock's person-year row): the transaction must roll
    back. Refusals before any write commit their read-only transaction instead: on a ROLLBACK
    psycopg drops every statement it has prepared on the connection.
    """

    def __init__(self, reason: Reason, problems: list[Problem], wrote: bool = False):
        super().__init__(reason, problems)
        self.wrote = wrote


class Answer(NamedTuple):
    """The desk's answer (JSON) and whether the claim or reversal was recorded just now
    (False: the same request again, answered with the first answer)."""

    body: dict[str, Any]
    recorded: bool


def _problem(code: str, message: str, field: str | None) -> Problem:
    return Problem(code, message, Source(SOURCE, column=field))


def _forbidden(message: str, field: str | None) -> DeskError:
    return DeskError("forbidden", [_problem("auth.forbidden", message, field)])


def _not_found(claim_id: str) -> DeskError:
    message = f"没有就诊编号为 {claim_id} 的即时结算 (no such claim)"
    return DeskError("not_found", [_problem("not_found", message, "claim_id")])


def may_post_for(user: User, institution_id: str) -> bool:
    """Settlement officers post for any institution; a hospital user for its own only."""
    if not can(user, "insurance.desk"):
        return False
    return can(user, "insurance.view_all") or (
        user.hospital_id is not None and user.hospital_id == institution_id
    )


def _may_see(user: User, institution_id: str) -> bool:
    """Users who see the county read any desk claim; a hospital user its own institution's."""
    if not can(user, "insurance.claims_view"):
        return False
    return can(user, "insurance.view_all") or (
        user.hospital_id is not None and user.hospital_id == institution_id
    )


def _check_desk(user: User) -> None:
    if not can(user, "insurance.desk"):
        raise DeskError("forbidden", [_problem("auth.forbidden", "无权访问 (forbidden)", None)])


def _replay(stored: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """The same claim id again: the first answer, or a conflict when the body differs."""
    if stored["request"] != request:
        differing = sorted(
            k for k in set(stored["request"]) | set(request) if stored["request"].get(k) != request.get(k)
        )
        message = (
            f"就诊编号 {stored['claim_id']} 已用于另一笔不同的结算 (字段 {', '.join(differing)} 不同); "
            "同一编号重发须与首次完全相同 (claim id already used with a different body)"
        )
        raise DeskError("conflict", [_problem("insurance.claim.id_reused", message, "claim_id")])
    return dict(stored["response"])


def _posted(conn: sa.Connection, user: User, client: Client | None, answer: Answer) -> Answer:
    body = answer.body
    kind = events.DeskPosted if answer.recorded else events.DeskReplayed
    event = kind(
        target=body["claim_id"],
        person_id=body["person_id"],
        institution_id=body["institution_id"],
        reimbursement=body["reimbursement"],
    )
    log(conn, event, user, client)
    return answer


def post_claim(
    conn: sa.Connection, user: User, claim: dict[str, Any], client: Client | None = None
) -> Answer:
    """Price and record one claim against the person's year (the same claim id and body again:
    the first answer, not recorded again); audited. Refuses with ``DeskError``."""
    _check_desk(user)
    institution_id, person_id, claim_id = claim["institution_id"], claim["person_id"], claim["claim_id"]
    if not may_post_for(user, institution_id):
        raise _forbidden(f"无权为医疗机构 {institution_id} 结算 (not your institution)", "institution_id")
    request = canonical(claim)
    year = claim["end_date"].year
    found = store.lookup(conn, claim)
    if found is None or found["stored_id"] is not None:
        stored = store.stored_claim(conn, claim_id)
        if stored is not None:
            return _posted(conn, user, client, Answer(_replay(stored, request), False))
    if found is None:
        message = (
            f"结束日期 {claim['end_date']} 所在的 {year} 年度没有导入参合数据, 不能结算 "
            f"(no insurance dataset for {year})"
        )
        raise DeskError("invalid", [_problem("insurance.claim.outside_year", message, "end_date")])
    policy = POLICIES.named(found["manifest"]["policy_id"])
    who = None if found["category"] is None else DeskPerson(found["category"], found["insured"])
    where = (
        None
        if found["level"] is None
        else DeskInstitution(found["level"], found["designated"], found["in_county"], found["place"])
    )
    locked: list[store.PersonYear] = []

    def lock() -> DeskState:  # called by the decision only for a claim the fund pays
        locked.append(store.lock_person_year(conn, year, person_id))
        return locked[0].state

    decision = decide(claim, who, where, policy, lock, SOURCE)
    if decision.priced is None or decision.after is None:
        raise DeskError("invalid", decision.problems)
    priced, person_year = decision.priced, locked[0]
    shown = {k: show(k, v) for k, v in priced.items()}
    response = {
        "claim_id": claim_id,
        "status": "paid",
        "person_id": person_id,
        "institution_id": institution_id,
        "year": year,
        "dataset_id": found["dataset_id"],
        "policy_id": policy.name,
        "seq": person_year.claims + 1,
        **{k: shown[k] for k in ("reimbursement", "reimbursable", "deductible", "rule", "cap_bucket")},
        **{k: shown[k] for k in ("cap_before", "cap_after", "reason")},
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
        **store.claim_values(priced),
        "created_by": user.id or None,  # 0: a machine client (API token), no user row
        "created_at": now(),
    }
    if not store.record_claim(conn, values, person_year, decision.after):
        # a twin of this request landed while we waited for the lock
        stored = store.stored_claim(conn, claim_id)
        assert stored is not None
        try:
            return _posted(conn, user, client, Answer(_replay(stored, request), False))
        except DeskError as exc:  # the claim id went to another person's claim meanwhile
            exc.wrote = True
            raise
    return _posted(conn, user, client, Answer(response, True))


def reverse_claim(conn: sa.Connection, user: User, claim_id: str, client: Client | None = None) -> Answer:
    """冲正: reverse a desk claim and free what it used; the second time, the first answer.
    Audited. Refuses with ``DeskError``."""
    _check_desk(user)
    stored = store.stored_claim(conn, claim_id)
    if stored is None:
        raise _not_found(claim_id)
    if not may_post_for(user, stored["institution_id"]):
        raise _forbidden(f"无权冲正医疗机构 {stored['institution_id']} 的结算 (not your institution)", None)
    person_year = store.lock_person_year(conn, stored["year"], stored["person_id"])
    stored = store.stored_claim(conn, claim_id)
    assert stored is not None
    if stored["status"] == "reversed":
        answer = Answer(dict(stored["reversal"]), False)
    else:
        answer = Answer(_reverse(conn, user, stored, person_year), True)
    kind = events.DeskReversed if answer.recorded else events.DeskReverseReplayed
    log(
        conn,
        kind(target=claim_id, person_id=answer.body["person_id"], freed=answer.body["freed"]),
        user,
        client,
    )
    return answer


def _reverse(
    conn: sa.Connection, user: User, stored: Mapping[str, Any], person_year: store.PersonYear
) -> dict[str, Any]:
    claim_id = stored["claim_id"]
    remaining = store.paid_claims_but(conn, stored["year"], stored["person_id"], claim_id)
    before, after = person_year.state, DeskState.from_priced(remaining)
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
    store.save_reversal(conn, claim_id, user.id or None, at, reversal, person_year, after)
    return reversal


def read_claim(
    conn: sa.Connection, user: User, claim_id: str, client: Client | None = None
) -> dict[str, Any]:
    """One desk claim as recorded, with its reversal if any (personal data: audited); a claim
    outside the user's scope is not found."""
    stored = store.stored_claim(conn, claim_id)
    if stored is None or not _may_see(user, stored["institution_id"]):
        raise _not_found(claim_id)
    record = {**stored["response"], "status": stored["status"], "reversal": stored["reversal"]}
    log(conn, events.DeskClaimViewed(target=claim_id, person_id=record["person_id"]), user, client)
    return record


@dataclass(frozen=True)
class DeskOverview:
    """The desk's summary by institution (paid claims, amount) and the latest claims."""

    summary: list[dict[str, Any]]
    recent: list[dict[str, Any]]


def own_institution(user: User) -> str | None:
    """The institution a hospital user is limited to; None for users who see the county."""
    return None if can(user, "insurance.view_all") else (user.hospital_id or "\x00")


def desk_overview(conn: sa.Connection, user: User, client: Client | None = None) -> DeskOverview:
    """Paid desk claims by institution and the recent claims, of the user's own institution
    for a hospital user; listing claims is audited (personal data)."""
    if not can(user, "insurance.claims_view"):
        raise Refused("forbidden", [_problem("auth.forbidden", "无权访问 (forbidden)", None)])
    own = own_institution(user)
    summary = [
        {**row, "amount": plain(from_fen(int(row["fen"] or 0)))}
        for row in store.summary_by_institution(conn, own)
    ]
    recent = store.recent_claims(conn, own, RECENT_CLAIMS)
    if recent:
        log(conn, events.DeskListViewed(claims=[r["claim_id"] for r in recent]), user, client)
    return DeskOverview(summary, recent)
