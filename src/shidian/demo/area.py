"""The demo's one county and one year (演示县与演示年度): every part of the demo uses these.

平南县 (GB/T 2260 450821, a county of 贵港市 4508, the region of the DRG demo's policy
guigang-2020) with three townships of four villages each. The townships are the pilot plan's
reporting townships, the registry's areas, the townships of the insurance county's villages and
the 医共体 members' townships; the villages (12-digit codes: county + township + village) are
the plan's reporting villages, the registry's villages and the insurance villages.

The year is 2020 (``DEMO_YEAR``): the DRG settlement (guigang-2020), the pilot plan's reports
(the 社会心理服务 plan runs 2019-10 … 2021-12), the registry's follow-ups (which then go on
from 2022 to the business date: ``shidian.demo.registry_web``), the insurance claims and
the capitation year all fall in it (README, "The demo").
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shidian.demo.insurance import CountyArea

DEMO_YEAR = 2020
YEAR_START = dt.date(DEMO_YEAR, 1, 1)
YEAR_END = dt.date(DEMO_YEAR, 12, 31)

CITY = ("4508", "贵港市")
COUNTY = ("450821", "平南县")
TOWNSHIPS = (("450821100", "平南镇"), ("450821101", "平山镇"), ("450821102", "寺面镇"))
VILLAGE_NAMES = ("东村", "西村", "南村", "北村")


def villages() -> list[tuple[str, str, str]]:
    """(village code, village name, township code) of the county, in code order."""
    return [
        (f"{t_code}{v_index:03d}", f"{t_name}{v_name}", t_code)
        for t_code, t_name in TOWNSHIPS
        for v_index, v_name in enumerate(VILLAGE_NAMES, start=1)
    ]


def insurance_area() -> CountyArea:
    """The county's tree for the insurance generator (``shidian.demo.insurance``)."""
    from shidian.demo.insurance import CountyArea

    return CountyArea(COUNTY[0], TOWNSHIPS, tuple(villages()))
