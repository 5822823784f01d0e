"""The discharge desk's workflows (出院即时结算): post a claim, reverse it, read it, the overview.

Each runs in the caller's transaction (the door owns it) and refuses with ``DeskError`` (a
``Refused``), which changes nothing: a refusal after a write (``DeskError.wrote``) must roll
the transaction back, not even the person's year row a lock created is left; a refusal before
any write commits its read-only transaction instead (on a ROLLBACK psycopg drops every
statement it has prepared on the connection).

``post_claim``: one lookup (the year's dataset, the person, the institution, the claim if the
desk has it: a replay answers the first answer), the core's one decision (``desk.decide``, which
locks the person's year only for a claim the fund pays; under a policy pooling the outpatient
cap per household, an outpatient claim locks every member's year, in person id order), one write (the claim and the year:
one statement on PostgreSQL), one audit record. Nothing more per claim: the desk has a latency
target (p99 < 20 ms at 50 desks, ``bench/insurance.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from shidian.display import plain
from shidian.insurance import events
from shidian.insurance.desk import DeskInstitution, DeskPerson, DeskState, decide
from shidian.insurance.desk_claim import canonical, show
from shidian.insurance.desk_standing import Standing, standing
from shidian.insurance.id_number import mask_id, mask_name
from shidian.insurance.io import find_person
from shidian.insurance.model import HOUSEHOLD_BUCKET
from shidian.insurance.policy import POLICIES, InsurancePolicy
from shidian.insurance.store import desk as store
from shidian.money import ZERO, from_fen
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.audit import Client, log
from shidian.platform.clock import TIME_ZONE, now, today
from shidian.platform.files import dataset_dir
from shidian.problems import Problem, Reason, Refused, Source

SOURCE = "<request>"
RECENT_CLAIMS = 20
#: At most this many of today's claims on the desk page (the latest first).
TODAY_CLAIMS = 200


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


def _scoped_claim(
    conn: sa.Connection, user: User, claim_id: str, institution_id: str | None
) -> dict[str, Any] | None:
    """The desk claim ``claim_id`` as the user may name it, or None (answered as unknown).

    A claim id is an institution's own (issue 22 finding 3): a hospital user (or an HIS token)
    names its own institution's claims only, whatever ``institution_id`` says, so another
    institution's claim of the id is never read, and the same id of its own is its own claim.
    A user who sees the county names the institution, or leaves it out when one institution only
    has the id (several: 422 ``insurance.claim.ambiguous`` naming them)."""
    if not can(user, "insurance.view_all"):
        own = user.hospital_id
        return None if own is None else store.stored_claim(conn, own, claim_id)
    if institution_id is None:
        having = store.institutions_with_claim(conn, claim_id)
        if len(having) > 1:
            message = (
                f"就诊编号 {claim_id} 在医疗机构 {'、'.join(having)} 都有, 请指明医疗机构 "
                "(claim id used by several institutions: give institution_id)"
            )
            raise DeskError("invalid", [_problem("insurance.claim.ambiguous", message, "institution_id")])
        institution_id = having[0] if having else None
    return None if institution_id is None else store.stored_claim(conn, institution_id, claim_id)


def _check_desk(user: User) -> None:
    if not can(user, "insurance.desk"):
        raise DeskError("forbidden", [_problem("auth.forbidden", "无权访问 (forbidden)", None)])


def _replay(stored: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """The institution's same claim id again: the first answer, or a conflict when the body
    differs (naming no field). Only the caller's own institution's claims get here: claim ids are
    each institution's own (issue 22 finding 3)."""
    if stored["request"] != request:
        message = (
            f"就诊编号 {request['claim_id']} 已用于另一笔不同的结算; "
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


def _person(found: Mapping[str, Any]) -> DeskPerson | None:
    """The person as pricing needs them (None: not in the year's dataset), with the household
    (户号) and its insured members as the batch counts them."""
    if found["category"] is None:
        return None
    members = found["household_members"]
    return DeskPerson(found["category"], found["insured"], found["household_id"], int(members or 1))


def _pool(policy: InsurancePolicy, claim: Mapping[str, Any], found: Mapping[str, Any]) -> str | None:
    """The household (户号) whose shared outpatient cap the claim may use (户内共享, ``outpatient.
    cap_scope = "household"``): an outpatient claim of a person with a household id under such a
    policy; None otherwise (the person's own year only). A person of a dataset imported before
    the desk stored households (revision 0012: ``household_members`` NULL) is refused
    (``insurance.desk.household_pooling``): priced against a personal cap, the desk would pay
    what the batch does not."""
    if policy.outpatient_cap_scope != "household" or claim.get("kind") != "outpatient":
        return None
    if found["category"] is None:
        return None
    if found["household_members"] is None:
        message = (
            f"政策 {policy.name} 的门诊统筹封顶线以户为单位 (户内共享), 但本年度参合数据导入时未记录户号, "
            "请重新导入参合数据后再结算门诊 (dataset imported before households were stored: import it again)"
        )
        raise DeskError("invalid", [_problem("insurance.desk.household_pooling", message, "kind")])
    household: str | None = found["household_id"]
    return household


def _with_shared(own: DeskState, household: str, others: Iterable[DeskState]) -> DeskState:
    """The person's year with what the other members of the household used of its shared
    outpatient bucket (``DeskState.shared``): their desk claims of the year not reversed (the
    desk's year state starts empty, as the person's own does: the dataset's claims file does not
    feed the desk's caps)."""
    bucket = f"{HOUSEHOLD_BUCKET}{household}"
    return replace(own, shared={bucket: sum((s.usage.get(bucket, ZERO) for s in others), ZERO)})


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
        stored = store.stored_claim(conn, institution_id, claim_id)
        if stored is not None:
            return _posted(conn, user, client, Answer(_replay(stored, request), False))
    found, policy, household, who, where = _priced_against(claim, found, year)
    locked: list[store.PersonYear] = []

    def lock() -> DeskState:  # called by the decision only for a claim the fund pays
        if household is None:
            locked.append(store.lock_person_year(conn, year, person_id))
            return locked[0].state
        # 户内共享: every member's year, locked in person id order (no deadlock)
        members = store.household_members(conn, found["dataset_id"], household)
        own, others = store.lock_household_years(conn, year, person_id, members)
        locked.append(own)
        return _with_shared(own.state, household, (y.state for y in others.values()))

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
        stored = store.stored_claim(conn, institution_id, claim_id)
        assert stored is not None
        try:
            return _posted(conn, user, client, Answer(_replay(stored, request), False))
        except DeskError as exc:  # the institution's claim id went to another claim meanwhile
            exc.wrote = True
            raise
    return _posted(conn, user, client, Answer(response, True))


def reverse_claim(
    conn: sa.Connection,
    user: User,
    claim_id: str,
    client: Client | None = None,
    reason: str = "",
    institution_id: str | None = None,
) -> Answer:
    """冲正: reverse a desk claim and free what it used; the second time, the first answer.
    ``reason`` (冲正原因, the desk page requires one) is kept with the reversal and audited.
    ``institution_id``: whose claim, for users who see the county (``_scoped_claim``).
    Audited. Refuses with ``DeskError``."""
    _check_desk(user)
    stored = _scoped_claim(conn, user, claim_id, institution_id)
    if stored is None or not may_post_for(user, stored["institution_id"]):
        raise _not_found(claim_id)  # another institution's claim: exactly as an unknown one
    person_year = store.lock_person_year(conn, stored["year"], stored["person_id"])
    stored = store.stored_claim(conn, stored["institution_id"], claim_id)
    assert stored is not None
    if stored["status"] == "reversed":
        answer = Answer(dict(stored["reversal"]), False)
    else:
        answer = Answer(_reverse(conn, user, stored, person_year, reason.strip()), True)
    body = answer.body
    event: events.DeskReversed | events.DeskReverseReplayed = (
        events.DeskReversed(
            target=claim_id,
            person_id=body["person_id"],
            institution_id=body["institution_id"],
            freed=body["freed"],
            reason=body.get("reason", ""),
        )
        if answer.recorded
        else events.DeskReverseReplayed(
            target=claim_id,
            person_id=body["person_id"],
            institution_id=body["institution_id"],
            freed=body["freed"],
        )
    )
    log(conn, event, user, client)
    return answer


def _reverse(
    conn: sa.Connection, user: User, stored: Mapping[str, Any], person_year: store.PersonYear, reason: str
) -> dict[str, Any]:
    claim_id, institution_id = stored["claim_id"], stored["institution_id"]
    remaining = store.paid_claims_but(conn, stored["year"], stored["person_id"], institution_id, claim_id)
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
        **({"reason": reason} if reason else {}),
    }
    store.save_reversal(conn, institution_id, claim_id, user.id or None, at, reversal, person_year, after)
    return reversal


def read_claim(
    conn: sa.Connection,
    user: User,
    claim_id: str,
    client: Client | None = None,
    institution_id: str | None = None,
) -> dict[str, Any]:
    """One desk claim as recorded, with its reversal if any (personal data: audited); a claim
    outside the user's scope is not found (``_scoped_claim``: ``institution_id`` names whose
    claim for users who see the county)."""
    if not can(user, "insurance.claims_view"):
        raise _not_found(claim_id)
    stored = _scoped_claim(conn, user, claim_id, institution_id)
    if stored is None or not _may_see(user, stored["institution_id"]):
        raise _not_found(claim_id)
    record = {**stored["response"], "status": stored["status"], "reversal": stored["reversal"]}
    log(
        conn,
        events.DeskClaimViewed(
            target=claim_id, person_id=record["person_id"], institution_id=record["institution_id"]
        ),
        user,
        client,
    )
    return record


def claims_named(
    conn: sa.Connection, user: User, claim_id: str, client: Client | None = None
) -> list[dict[str, Any]]:
    """Every desk claim ``claim_id`` the user may read (``read_claim`` each, audited): a hospital
    user's own institution's, or each institution's for a user who sees the county."""
    if not can(user, "insurance.claims_view"):
        return []
    having = store.institutions_with_claim(conn, claim_id) if can(user, "insurance.view_all") else [None]
    found = []
    for institution_id in having:
        try:
            found.append(read_claim(conn, user, claim_id, client, institution_id))
        except DeskError:
            continue
    return found


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


# --- the desk page (出院结算窗口): find the patient, price before confirming, today's claims ---


@dataclass(frozen=True)
class Patient:
    """A person found at the desk: who (masked ID number, name), the year's dataset and the
    standing at the desk's institution (``desk_standing.Standing``)."""

    person_id: str
    name: str
    id_number: str
    year: int
    dataset_id: str
    policy_id: str
    institution_id: str | None
    institution_name: str
    standing: Standing


def _desk_institution(user: User, institution_id: str | None) -> str | None:
    """The institution the desk works for: a hospital user's own; an officer's choice."""
    if can(user, "insurance.view_all"):
        return institution_id or None
    return user.hospital_id


def desk_years(conn: sa.Connection, user: User) -> list[int]:
    """The years the desk can settle (a dataset of the year is imported), the latest first."""
    _check_desk(user)
    return store.desk_years(conn)


def find_patient(
    conn: sa.Connection,
    user: User,
    var_dir: Path,
    query: str,
    year: int | None = None,
    institution_id: str | None = None,
    client: Client | None = None,
) -> Patient:
    """The insured person with the 人员编号 (card number) or 身份证号 ``query`` in the year's
    dataset, with the standing at the desk's institution (personal data: audited). Refuses
    with ``DeskError`` (not found: no such person, or no dataset of the year)."""
    _check_desk(user)
    query = query.strip()
    dataset = store.desk_dataset(conn, year)
    if dataset is None:
        message = f"{year or ''} 年度没有导入参合数据, 不能结算 (no insurance dataset)"
        raise DeskError("not_found", [_problem("insurance.claim.outside_year", message, "year")])
    by_id_number = len(query) == 18 and query[:17].isdigit()
    row = find_person(
        dataset_dir(var_dir, dataset["id"]),
        None if by_id_number else query,
        query if by_id_number else None,
    )
    person_id = row["person_id"] if row is not None else query
    where = _desk_institution(user, institution_id)
    person, institution = store.person_and_institution(conn, dataset["id"], person_id, where)
    if person is None:
        message = f"{dataset['year']} 年度参合数据中没有人员编号或身份证号为 {query} 的人员 (no such person)"
        raise DeskError("not_found", [_problem("insurance.desk.no_person", message, "query")])
    policy = POLICIES.named(dataset["manifest"]["policy_id"])
    who = _person(person)
    assert who is not None
    household = who.household_id if policy.outpatient_cap_scope == "household" else None
    state = _year_as_it_stands(conn, int(dataset["year"]), person_id, dataset["id"], household)
    at = (
        None
        if institution is None
        else DeskInstitution(
            institution["level"], institution["designated"], institution["in_county"], institution["place"]
        )
    )
    found = Patient(
        person_id=person_id,
        name=mask_name(row["name"] or "") if row is not None else "",
        id_number=mask_id(row["id_number"] or "", policy.notice_id_head, policy.notice_id_tail)
        if row
        else "",
        year=int(dataset["year"]),
        dataset_id=dataset["id"],
        policy_id=policy.name,
        institution_id=where,
        institution_name="" if institution is None else institution["name"],
        standing=standing(who, at, policy, state),
    )
    log(conn, events.DeskPatientFound(target=person_id, person_id=person_id), user, client)
    return found


def _year_as_it_stands(
    conn: sa.Connection, year: int, person_id: str, dataset_id: str, household: str | None
) -> DeskState:
    """The person's year as it stands (no lock: the standing and 试算), with what the other
    members of ``household`` used of its shared outpatient bucket (None: the person's own)."""
    if household is None:
        return store.read_person_year(conn, year, person_id)
    members = store.household_members(conn, dataset_id, household)
    years = store.read_household_years(conn, year, [*members, person_id])
    own = years.pop(person_id, DeskState())
    return _with_shared(own, household, years.values())


def preview_claim(conn: sa.Connection, user: User, claim: dict[str, Any]) -> dict[str, Any]:
    """试算: what ``post_claim`` would answer for ``claim`` now, recording and locking nothing
    (the clerk confirms, then ``post_claim`` prices it again under the lock). The priced
    columns as shown, or ``DeskError`` with the problems that refuse it."""
    _check_desk(user)
    institution_id, person_id = claim["institution_id"], claim["person_id"]
    if not may_post_for(user, institution_id):
        raise _forbidden(f"无权为医疗机构 {institution_id} 结算 (not your institution)", "institution_id")
    if store.stored_claim(conn, institution_id, claim["claim_id"]) is not None:
        message = f"就诊编号 {claim['claim_id']} 已结算过 (claim id already used)"
        raise DeskError("conflict", [_problem("insurance.claim.id_reused", message, "claim_id")])
    found = store.lookup(conn, claim)
    year = claim["end_date"].year
    found, policy, household, who, where = _priced_against(claim, found, year)

    def year_now() -> DeskState:
        return _year_as_it_stands(conn, year, person_id, found["dataset_id"], household)

    decision = decide(claim, who, where, policy, year_now, SOURCE)
    if decision.priced is None:
        raise DeskError("invalid", decision.problems)
    return {k: show(k, v) for k, v in decision.priced.items()}


def today_claims(conn: sa.Connection, user: User, client: Client | None = None) -> list[dict[str, Any]]:
    """The desk claims recorded today (the business date, ``platform.clock``), of the user's
    own institution for a hospital user, the latest first; listing them is audited."""
    if not can(user, "insurance.claims_view"):
        raise Refused("forbidden", [_problem("auth.forbidden", "无权访问 (forbidden)", None)])
    start = dt.datetime.combine(today(), dt.time(0), tzinfo=TIME_ZONE).astimezone(dt.UTC)
    claims = store.claims_since(conn, own_institution(user), start, TODAY_CLAIMS)
    if claims:
        log(conn, events.DeskListViewed(claims=[c["claim_id"] for c in claims]), user, client)
    return claims


def _priced_against(
    claim: Mapping[str, Any], found: dict[str, Any] | None, year: int
) -> tuple[dict[str, Any], InsurancePolicy, str | None, DeskPerson | None, DeskInstitution | None]:
    """What a desk claim is priced against, from its dataset's row (``store.lookup``): the row,
    the dataset's policy, the household pool (``_pool``), the person and the institution; refused
    ``insurance.claim.outside_year`` when no dataset covers the claim's year."""
    if found is None:
        message = (
            f"结束日期 {claim['end_date']} 所在的 {year} 年度没有导入参合数据, 不能结算 "
            f"(no insurance dataset for {year})"
        )
        raise DeskError("invalid", [_problem("insurance.claim.outside_year", message, "end_date")])
    policy = POLICIES.named(found["manifest"]["policy_id"])
    where = (
        None
        if found["level"] is None
        else DeskInstitution(found["level"], found["designated"], found["in_county"], found["place"])
    )
    return found, policy, _pool(policy, claim, found), _person(found), where
