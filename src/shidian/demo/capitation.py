"""The demo county's two 医共体 (医共体演示数据): the inputs of ``shidian capitation settle --claims``.

Written next to the resident-insurance county (``OUT_DIR/insurance``) and consistent with it, as
001 第十七篇 四(一)2 describes: the 县人民医院 and the 县中医院 each lead a 医共体 of township
health centres and the village clinics of their villages. The townships are split in two (the
first half to the 县人民医院; a county of one township splits its villages); every village of the county is mapped (``villages.csv``), so the
year end takes each 医共体's spending and insured from the county's insurance run. The fund:
``insured × 150`` 元 (the insurance policy's 30 + 60 + 30 + 15 + 15: county-2010 and the demo's
demo-county-2020), last year ``insured × 120`` 元, no 大病保险, 意外伤害 ``insured × 2`` 元
(demo values), for ``year`` (the insurance county's: 2020 in ``shidian demo generate``).
Scores come from ``numpy.random.default_rng(seed)``: equal arguments give equal files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.csv as pv

#: The capitation policy of the demo county (its year is the insurance county's, the demo year 2020:
#: the rules and 2020 calendar of langxi-2020, docs/capitation.md).
POLICY = "demo-county-2020"
LEADS = ("县人民医院", "县中医院")


def _read(path: Path) -> dict[str, list[str]]:
    options = pv.ConvertOptions(column_types={"village_code": "string", "institution_id": "string"})
    return {
        k: [str(v) for v in col] for k, col in pv.read_csv(path, convert_options=options).to_pydict().items()
    }


def generate_capitation_county(
    county_dir: Path, out_dir: Path, *, seed: int, year: int = 2010
) -> dict[str, int]:
    """Write fund.toml, communities, members, scores and villages for the county in ``county_dir``."""
    villages = _read(county_dir / "villages.csv")["village_code"]
    institutions = _read(county_dir / "institutions.csv")
    persons = pv.read_csv(
        county_dir / "persons.csv", convert_options=pv.ConvertOptions(include_columns=["insured"])
    )
    insured = int(pc.sum(persons.column("insured")).as_py() or 0)
    by_name = dict(zip(institutions["name"], institutions["institution_id"], strict=True))
    townships = sorted({int(code[6:9]) for code in villages})
    half = (len(townships) + 1) // 2
    community_of_township = {t: ("A" if i < half else "B") for i, t in enumerate(townships)}
    community_of_village = {v: community_of_township[int(v[6:9])] for v in villages}
    if len(townships) < 2:  # a county of one township: its villages are split in two
        community_of_village = {
            v: ("A" if i < (len(villages) + 1) // 2 else "B") for i, v in enumerate(villages)
        }
    members: list[tuple[str, str, str, str]] = [
        (by_name[LEADS[0]], LEADS[0], "A", "county"),
        (by_name[LEADS[1]], LEADS[1], "B", "county"),
    ]
    # the township health centres, one per township in township order (``…乡镇卫生院`` or
    # ``<township>卫生院``; village clinics end in their code, the county's hospitals in 医院)
    centres = [name for name in institutions["name"] if name.endswith("卫生院")]
    members += [
        (by_name[centre], centre, community_of_township[t], "township")
        for t, centre in zip(townships, centres, strict=True)
    ]
    clinics = {
        name.rsplit(" (", 1)[1].rstrip(")"): (iid, name)
        for name, iid in by_name.items()
        if name.endswith(")")
    }
    members += [(clinics[v][0], clinics[v][1], community_of_village[v], "village") for v in villages]
    members.sort()
    rng = np.random.default_rng(seed)
    scores = rng.integers(55, 99, len(members))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "fund.toml").write_text(
        f"# 演示县 {year} 年新农合基金 (演示取值, 见 shidian.demo.capitation)\n"
        f"year = {year}\n"
        f"funding_total = {insured * 150}\n"
        f"funding_last_year = {insured * 120}\n"
        "catastrophic = 0\n"
        f"accident = {insured * 2}\n",
        encoding="utf-8",
    )
    (out_dir / "communities.csv").write_text(
        "community_id,name,lead_institution_id\n"
        f"A,{LEADS[0]}医共体,{by_name[LEADS[0]]}\n"
        f"B,{LEADS[1]}医共体,{by_name[LEADS[1]]}\n",
        encoding="utf-8",
    )
    (out_dir / "members.csv").write_text(
        "institution_id,name,community_id,tier\n" + "".join(f"{i},{n},{c},{t}\n" for i, n, c, t in members),
        encoding="utf-8",
    )
    (out_dir / "scores.csv").write_text(
        "institution_id,score\n" + "".join(f"{m[0]},{s}\n" for m, s in zip(members, scores, strict=True)),
        encoding="utf-8",
    )
    (out_dir / "villages.csv").write_text(
        "village_code,community_id\n" + "".join(f"{v},{community_of_village[v]}\n" for v in villages),
        encoding="utf-8",
    )
    return {"fund.toml": 1, "communities.csv": 2, "members.csv": len(members), "villages.csv": len(villages)}
