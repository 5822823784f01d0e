"""The discharge desk API's request and response shapes (出院即时结算接口)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shidian.insurance.model import DELIVERY_LABELS, KIND_LABELS, code_of

ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ClaimId = Annotated[str, Field(pattern=ID, description="就诊编号 (claim id), the idempotency key")]
ClaimIdPath = Annotated[str, Path(pattern=ID, description="就诊编号 (claim id)")]
#: Whose claim: a claim id is an institution's own (issue 22 finding 3). Users who see the
#: county name the institution when several have the id; a hospital (or its HIS token) always
#: means its own, whatever this says.
InstitutionQuery = Annotated[
    str | None,
    Query(
        pattern=ID, description="医疗机构编码: whose claim (users who see the county; a hospital: its own)"
    ),
]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, description="元, 两位小数")]
Flag = Literal[0, 1]


class ClaimIn(BaseModel):
    """One claim as the batch contract's ``claims.csv`` row (docs/insurance.md, Inputs)."""

    model_config = ConfigDict(extra="forbid")

    claim_id: ClaimId
    person_id: Annotated[str, Field(pattern=ID, description="人员编号")]
    institution_id: Annotated[str, Field(pattern=ID, description="医疗机构编码")]
    kind: Annotated[
        Literal["inpatient", "outpatient"],
        BeforeValidator(lambda v: code_of(v, KIND_LABELS)),
        Field(description="就诊类型: inpatient 住院 / outpatient 门诊 (中文名称亦可)"),
    ]
    start_date: dt.date
    end_date: dt.date
    total_cost: Money
    self_pay: Money = Decimal(0)
    special_exam: Money = Decimal(0)
    special_treatment: Money = Decimal(0)
    blood: Money = Decimal(0)
    special_material: Money = Decimal(0)
    tcm_cost: Money = Decimal(0)
    delivery: Annotated[
        Literal["normal", "pathological"] | None, BeforeValidator(lambda v: code_of(v, DELIVERY_LABELS))
    ] = None
    cataract_eyes: Annotated[int, Field(ge=0, le=2)] = 0
    other_insurance_paid: Money = Decimal(0)
    transfer_of: Annotated[str, Field(pattern=ID)] | None = None
    certificate: Flag = 0
    referral: Flag = 0
    chronic_disease: Annotated[str, Field(pattern=ID)] | None = None
    tcm_fracture: Flag = 0
    general_fee: Money = Decimal(0)
    drug_cost: Money = Decimal(0)
    catalogue_external_drug_cost: Money = Decimal(0)
    desk_paid: Money | None = None
    inpatient_category: Annotated[str, Field(pattern=ID)] | None = None


class ClaimOut(BaseModel):
    """The desk's answer: the reimbursement, the rule trail and every priced column (as text)."""

    claim_id: str
    status: Literal["paid", "reversed"]
    person_id: str
    institution_id: str
    year: int
    dataset_id: str
    policy_id: str
    seq: int = Field(description="the claim's place among the person's desk claims of the year")
    reimbursement: str
    reimbursable: str
    deductible: str
    rule: str
    cap_bucket: str | None
    cap_before: str | None
    cap_after: str | None
    reason: str = Field(description="补偿计算说明 (the rule trail, in Chinese)")
    priced: dict[str, str | int | None]


class ReversalOut(BaseModel):
    """A reversal (冲正): what the claim had paid and what it freed of its cap."""

    claim_id: str
    status: Literal["reversed"]
    person_id: str
    institution_id: str
    year: int
    reimbursement: str
    cap_bucket: str | None
    freed: str
    usage_after: dict[str, str]
    reversed_at: str
    reason: str | None = Field(None, description="冲正原因 (the desk page requires one)")


class ClaimRecordOut(ClaimOut):
    reversal: ReversalOut | None = None


#: 200: the same claim id and body again: the first answer, unchanged.
REPLAY: dict[int | str, dict[str, Any]] = {200: {"model": ClaimOut, "description": "the first answer again"}}
