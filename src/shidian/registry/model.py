"""The registry's vocabulary (在册患者): the six disorders, treatment and registry statuses,
case-management team roles.

Six severe mental disorders (六类严重精神障碍, 国家基本公共卫生服务规范（第三版）严重精神障碍患者
管理服务规范; 000 篇3 第10–14项) and the ICD-10 codes accepted for each:

* ``schizophrenia`` 精神分裂症: F20, F20.0–F20.9;
* ``schizoaffective`` 分裂情感性障碍: F25, F25.x;
* ``paranoid_psychosis`` 偏执性精神病 (持久的妄想性障碍): F22, F22.x;
* ``bipolar`` 双相(情感)障碍: F31, F31.x (a single manic episode F30 is not accepted);
* ``epilepsy`` 癫痫所致精神障碍: F06, F06.x (mental disorders due to brain dysfunction; the
  epilepsy itself, G40/G41, is the cause the diagnosing hospital records; we accept the F06 code);
* ``intellectual_disability`` 精神发育迟滞伴发精神障碍: F70–F79 with their subcodes.

A code is written ``F20`` or ``F20.0`` (one or two digits after the dot), in any case, with
blanks trimmed. Anything else is an unknown diagnosis and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Disorder:
    """One of the six disorders (病种): code, Chinese name, accepted ICD-10 categories."""

    code: str
    name: str
    categories: tuple[str, ...]


DISORDERS: tuple[Disorder, ...] = (
    Disorder("schizophrenia", "精神分裂症", ("F20",)),
    Disorder("schizoaffective", "分裂情感性障碍", ("F25",)),
    Disorder("paranoid_psychosis", "偏执性精神病", ("F22",)),
    Disorder("bipolar", "双相情感障碍", ("F31",)),
    Disorder("epilepsy", "癫痫所致精神障碍", ("F06",)),
    Disorder("intellectual_disability", "精神发育迟滞伴发精神障碍", tuple(f"F7{d}" for d in range(10))),
)
DISORDER_NAMES = {d.code: d.name for d in DISORDERS}
_BY_CATEGORY = {c: d for d in DISORDERS for c in d.categories}
_ICD10 = re.compile(r"^([A-Z][0-9]{2})(\.[0-9]{1,2})?$")

#: Treatment status at a follow-up (治疗情况): on medication, in hospital, not treated.
TREATMENTS = {"medication": "服药治疗", "hospital": "住院治疗", "none": "未治疗"}
#: Registry status (在册状态). 失访 (lost) patients stay on the register (在册) but are not managed.
REGISTRY_STATUSES = {"managed": "在管", "moved": "迁出", "deceased": "死亡", "lost": "失访"}
#: Statuses that take a patient off the register from their date (离册).
OFF_REGISTER = ("moved", "deceased")
#: Case-management team roles (个案管理团队), in the order of 000 篇7 (八): “村(社区)“两委”成员、网格员、
#: 精防医生、民警、民政专干、助残员、志愿者” (000 篇3 第12项 lists the same without 民政专干).
TEAM_ROLES = {
    "village_committee": "村(居)两委成员",
    "grid_worker": "网格员",
    "doctor": "精防医生",
    "police": "民警",
    "civil_affairs": "民政专干",
    "disability_aide": "助残员",
    "volunteer": "志愿者",
}
#: Findings at a follow-up (随访评估).
SYMPTOMS = {"marked": "精神病性症状明显", "present": "症状较差", "remitted": "症状基本消失"}
INSIGHT = {"lacking": "自知力缺乏", "partial": "自知力不全", "good": "自知力基本恢复"}
SOCIAL_FUNCTION = {"poor": "较差", "fair": "一般", "good": "良好"}


def normalise_icd10(code: str) -> str | None:
    """``' f20.0 '`` → ``'F20.0'``; None when not shaped like an ICD-10 code."""
    text = code.strip().upper()
    return text if _ICD10.match(text) else None


def disorder_of(icd10: str) -> Disorder | None:
    """The disorder an ICD-10 code belongs to, or None when it is none of the six."""
    text = normalise_icd10(icd10)
    if text is None:
        return None
    return _BY_CATEGORY.get(text[:3])
