"""The claim frame: each claim's person row, person key and place among its person's claims."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shidian.insurance.frame import claim_frame
from shidian.insurance.model import claims_table
from tests.insurance.helpers import INSTITUTIONS, insurance_policy, persons
from tests.properties import examples

POLICY = insurance_policy()
PERSONS = persons(("P1", "general"), ("P2", "dibao"), ("P3", "general", 0))


def _claim(claim_id: str, person_id: str | None, start: int, end: int) -> dict[str, object]:
    return {
        "claim_id": claim_id,
        "person_id": person_id,
        "institution_id": "T1",
        "kind": "outpatient",
        "start_date": dt.date(2010, 1, start),
        "end_date": dt.date(2010, 1, end),
        "total_cost": Decimal("10.00"),
    }


def test_rows_come_by_claim_id_with_each_claims_place_among_its_persons_claims() -> None:
    # Given out of claim-id order. P1: c3 (1–2 Jan), then c1 and c4 (both 3–4 Jan: claim id
    # breaks the tie), then c2 (3–5 Jan: same start, later end). X9 is not insured anywhere:
    # its claims still form one person (c5 before c6), after every listed person.
    claims = claims_table(
        [
            _claim("c4", "P1", 3, 4),
            _claim("c6", "X9", 9, 9),
            _claim("c2", "P1", 3, 5),
            _claim("c1", "P1", 3, 4),
            _claim("c5", "X9", 2, 2),
            _claim("c3", "P1", 1, 2),
            _claim("c7", "P2", 1, 1),
        ]
    )
    frame = claim_frame(claims, PERSONS, INSTITUTIONS, POLICY)
    assert frame.column("claim_id").to_pylist() == ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert frame.column("ord").to_pylist() == [2, 4, 1, 3, 1, 2, 1]
    assert frame.column("rid").to_pylist() == [0, 1, 2, 3, 4, 5, 6]
    assert frame.column("person_key").to_pylist() == [0, 0, 0, 0, 3, 3, 1]
    assert frame.column("category").to_pylist() == ["general"] * 4 + [None, None, "dibao"]
    assert frame.column("insured").to_pylist() == [1, 1, 1, 1, None, None, 1]


def test_two_unknown_persons_get_two_keys() -> None:
    claims = claims_table([_claim("a", "X1", 1, 1), _claim("b", "X2", 1, 1), _claim("c", "X1", 2, 2)])
    frame = claim_frame(claims, PERSONS, INSTITUTIONS, POLICY)
    keys = frame.column("person_key").to_pylist()
    assert keys[0] == keys[2] != keys[1]
    assert min(keys) >= PERSONS.num_rows
    assert frame.column("ord").to_pylist() == [1, 1, 2]


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3", "X1", "X2", None]),  # None: a claim without a person id
            st.integers(1, 4),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=25,
    ),
    st.randoms(use_true_random=False),
)
def test_place_is_the_rank_by_start_end_and_claim_id(
    rows: list[tuple[str | None, int, int]], rng: object
) -> None:
    """Claims without a person id rank among themselves, as one (unknown) person."""
    claims = [
        _claim(f"k{i:02d}", person, start, start + length) for i, (person, start, length) in enumerate(rows)
    ]
    rng.shuffle(claims)  # type: ignore[attr-defined]
    frame = claim_frame(claims_table(claims), PERSONS, INSTITUTIONS, POLICY)
    got = dict(zip(frame.column("claim_id").to_pylist(), frame.column("ord").to_pylist(), strict=True))
    for person in {c["person_id"] for c in claims}:
        mine = sorted(
            (c for c in claims if c["person_id"] == person),
            key=lambda c: (c["start_date"], c["end_date"], c["claim_id"]),
        )
        assert [got[str(c["claim_id"])] for c in mine] == list(range(1, len(mine) + 1))


def test_a_person_listed_twice_keeps_the_first_row() -> None:
    twice = persons(("P1", "general"), ("P2", "dibao"), ("P1", "wubao"))
    frame = claim_frame(
        claims_table([_claim("a", "P1", 1, 1), _claim("b", "P2", 1, 1)]), twice, INSTITUTIONS, POLICY
    )
    assert frame.column("category").to_pylist() == ["general", "dibao"]
    assert frame.column("person_key").to_pylist() == [0, 1]
