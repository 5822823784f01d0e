"""Resident medical insurance (城乡居民医保 / 新农合): 004 篇6 and 篇5, 002 篇四.

The public API of the pure core. The county-year batch is ``reimburse``; the discharge desk
prices one claim with ``price_claims(claims, persons, institutions, policy, prior)`` where
``prior`` is the person's ``PriorState`` (``state_after`` of what was priced before), and
reverses one with ``reverse_claim``. File reading and writing live in ``shidian.insurance.io``.
"""

from shidian.insurance.batch import reimburse
from shidian.insurance.claims import PRICED_COLUMNS, price_claims, reverse_claim, state_after
from shidian.insurance.model import (
    CLAIMS_SCHEMA,
    INSTITUTIONS_SCHEMA,
    PERSONS_SCHEMA,
    InsuranceInputs,
    PriorState,
    ReimbursementResult,
    claims_table,
)
from shidian.insurance.policy import PARAMS, InsurancePolicy, parse_insurance_policy
from shidian.insurance.validate import validate_inputs

__all__ = [
    "CLAIMS_SCHEMA",
    "INSTITUTIONS_SCHEMA",
    "PARAMS",
    "PERSONS_SCHEMA",
    "PRICED_COLUMNS",
    "InsuranceInputs",
    "InsurancePolicy",
    "PriorState",
    "ReimbursementResult",
    "claims_table",
    "parse_insurance_policy",
    "price_claims",
    "reimburse",
    "reverse_claim",
    "state_after",
    "validate_inputs",
]
