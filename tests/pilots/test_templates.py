"""The shipped templates load and carry every quantitative target their seed states.

Each expected number below is copied from the seed text (quoted), not from the template.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from shidian.pilots.model import Plan
from shidian.pilots.plan_excel import read_plan_xlsx, write_plan_xlsx
from shidian.pilots.plan_file import TEMPLATES, load_template, parse_plan, plan_to_yaml

END_2021 = date(2021, 12, 31)


def targets(plan: Plan, code: str) -> dict[str, tuple[Decimal, str, date]]:
    return {t.population: (t.value, t.direction, t.deadline) for t in plan.indicator(code).targets}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_loads_and_round_trips(name: str, tmp_path: Path) -> None:
    plan = load_template(name)
    assert plan.seed and plan.indicators and plan.tasks
    again, problems = parse_plan(plan_to_yaml(plan), "again.yaml")
    assert problems == [] and again == plan
    write_plan_xlsx(plan, tmp_path / "plan.xlsx")
    from_excel, problems = read_plan_xlsx(tmp_path / "plan.xlsx")
    assert problems == [] and from_excel == plan


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_quotes_its_seed(name: str) -> None:
    text = TEMPLATES[name].read_text(encoding="utf-8")
    plan = load_template(name)
    assert f"seed: {plan.seed}" in text
    for ind in plan.indicators:
        for target in ind.targets:
            assert ind.basis, f"{ind.code} has a target but no seed quote"
            assert target.deadline <= plan.end or name == "psy-service"


def test_psy_service_eight_specific_targets() -> None:
    """000 篇3 二、(二) 具体目标 1–8."""
    plan = load_template("psy-service")
    hundred, ge = Decimal(100), ">="
    # 1 "各乡镇建立社会心理服务工作小组"
    assert targets(plan, "TOWNSHIP_WORKGROUP") == {"": (hundred, ge, END_2021)}
    # 2 "心理咨询室或社会工作室建成率达80%以上"
    assert targets(plan, "PSY_ROOM_RATE") == {"": (Decimal(80), ge, END_2021)}
    assert plan.indicator("PSY_ROOM_RATE").reported_by == "village"  # "以村居(社区)为单位"
    # 3 "100%的中小学设立心理辅导室,并配备专职或兼职教师"
    assert targets(plan, "SCHOOL_COUNSEL_ROOM_RATE") == {"": (hundred, ge, END_2021)}
    assert targets(plan, "SCHOOL_COUNSEL_TEACHER_RATE") == {"": (hundred, ge, END_2021)}
    # 4 "每年至少提供一次心理服务"
    assert targets(plan, "EMPLOYER_SERVICE_RATE") == {"": (hundred, ge, END_2021)}
    # 5 心理门诊 / 心理咨询中心 / 二十四小时公益心理援助平台 / 心理危机干预队伍
    for code in ("PSY_HOSPITAL_CLINIC", "GENERAL_HOSPITAL_PSY_RATE", "PSY_HOTLINE_24H", "CRISIS_TEAM"):
        assert targets(plan, code) == {"": (hundred, ge, END_2021)}
    # 6 "每10万人口精神执业(助理)医师配置达到2.8 人,每10万人口心理服务人员配置达到25人"
    assert targets(plan, "PSYCHIATRISTS_PER_100K") == {"": (Decimal("2.8"), ge, END_2021)}
    assert targets(plan, "PSY_WORKERS_PER_100K") == {"": (Decimal(25), ge, END_2021)}
    assert plan.indicator("PSYCHIATRISTS_PER_100K").scale == Decimal(100000)
    # 7 "建立1—2个精神障碍患者社区康复站"
    assert targets(plan, "REHAB_STATIONS") == {"": (Decimal(1), ge, END_2021)}
    # 8 "知晓率分别达到 90%、90%、70%、50%"
    assert targets(plan, "PSY_LITERACY_RATE") == {
        "officials": (Decimal(90), ge, END_2021),
        "students": (Decimal(90), ge, END_2021),
        "urban": (Decimal(70), ge, END_2021),
        "rural": (Decimal(50), ge, END_2021),
    }


def test_psy_service_registry_indicators_and_measures() -> None:
    """000 篇3 措施 10, 12, 14; the registry codes of interfaces.md 2."""
    plan = load_template("psy-service")
    # 12 "在册患者规范管理率、在册患者治疗率、精神分裂症治疗率均达到80%以上"
    for code in ("SMD_REGULAR_MGMT_RATE", "SMD_TREATMENT_RATE", "SMD_SCHIZ_TREATMENT_RATE"):
        assert plan.indicator(code).source == "registry"
        assert targets(plan, code) == {"": (Decimal(80), ">=", END_2021)}
    # 14 "社区参与康复率达到60%以上", "对50%以上居家患者及家属提供心理疏导服务"
    assert targets(plan, "SMD_REHAB_RATE")[""][0] == Decimal(60)
    assert targets(plan, "SMD_PSY_SUPPORT_RATE")[""][0] == Decimal(50)
    for code in ("PSY_COUNSELLING_ROOMS", "PSY_HOTLINE_CONTACTS"):
        assert plan.indicator(code).source == "registry"
    # 10 "新增精神卫生病床位161 张,新增医养床位150张,病床总数达到510张"
    assert [targets(plan, c)[""][0] for c in ("NEW_PSY_BEDS", "NEW_CARE_BEDS", "TOTAL_PSY_BEDS")] == [
        161,
        150,
        510,
    ]
    # 24 "特殊人群个性化心理疏导的覆盖率达到90%以上"
    assert targets(plan, "SPECIAL_GROUP_COUNSEL_RATE")[""][0] == Decimal(90)
    # the responsibility list: 26 measures; 措施 1 "(县委宣传部牵头负责,县卫生健康委配合)"
    assert len(plan.tasks) == 26
    first = plan.tasks[0]
    assert (plan.unit_name(first.lead[0]), [plan.unit_name(u) for u in first.partners]) == (
        "县委宣传部",
        ["县卫生健康委"],
    )


def test_county_medical_community_targets() -> None:
    """001 第九篇 一、(三) 工作目标 and 三、时间进度."""
    plan = load_template("county-medical-community")
    # "2019年每个市(州)至少1个县(市、区)开展试点"
    [pilot] = plan.indicator("PILOT_COUNTY").targets
    assert (pilot.value, pilot.level, pilot.deadline) == (Decimal(1), "city", date(2019, 12, 31))
    # "县域就诊率力争达90%"
    assert targets(plan, "COUNTY_VISIT_RATE") == {"": (Decimal(90), ">=", date(2020, 12, 31))}
    # "基层门急诊人次和住院人次占比分别较试点前提升不少于5个百分点"
    assert targets(plan, "PRIMARY_OUTPATIENT_SHARE_GAIN")[""][0] == Decimal(5)
    assert targets(plan, "PRIMARY_INPATIENT_SHARE_GAIN")[""][0] == Decimal(5)
    # "各试点县11月底前制定细化方案并启动试点"; "三张权责清单"
    assert targets(plan, "COUNTY_PLAN_ISSUED")[""][2] == date(2019, 11, 30)
    assert targets(plan, "RESPONSIBILITY_LISTS")[""][0] == Decimal(3)
    # 启动阶段(2019年8-11月), 实施阶段(2019年12月-2020年12月), 评估总结(2021年1月-2021年6月)
    assert [(p.name, p.start, p.end) for p in plan.phases] == [
        ("启动阶段", date(2019, 8, 1), date(2019, 11, 30)),
        ("实施阶段", date(2019, 12, 1), date(2020, 12, 31)),
        ("评估总结", date(2021, 1, 1), date(2021, 6, 30)),
    ]


def test_drg_reform_phases_and_steps() -> None:
    """000 篇5 三、工作步骤: four phases with their months."""
    plan = load_template("drg-reform")
    assert [(p.name, p.start, p.end, len(p.steps)) for p in plan.phases] == [
        ("前期准备阶段", date(2020, 9, 1), date(2020, 12, 31), 3),
        ("制订方案阶段", date(2021, 1, 1), date(2021, 3, 31), 5),
        ("测试评估阶段", date(2021, 4, 1), date(2021, 6, 30), 2),
        ("组织实施阶段", date(2021, 7, 1), date(2021, 12, 31), 5),
    ]
    # "汕尾市人民医院、汕尾市第二人民医院、海丰县彭湃纪念医院、陆丰市人民医院、陆河县人民医院实行模拟运行" = 5
    [sim] = plan.indicator("SIMULATION_HOSPITALS").targets
    assert sim.value == Decimal(5)
    # "由市医疗保障局牵头负责"
    assert all(t.lead == ("healthcare_security",) for t in plan.tasks)
    assert plan.leading_group is not None and plan.leading_group.head == "市政府分管领导"


def test_medical_beauty_campaign_summary_table() -> None:
    """004 篇1 附件1 医疗美容专项整治工作汇总表: its rows and columns."""
    plan = load_template("medical-beauty-campaign")
    assert plan.kind == "campaign"
    rows = [i.name for i in plan.indicators if i.code.startswith("MB_") and i.code != "MB_SUMMARY_SUBMITTED"]
    for row in (
        "检查对象数",
        "责令改正数",
        "警告数",
        "责令停业整顿户数",
        "罚款户(人)次",
        "罚款金额",
        "没收违法所得",
        "吊销行政许可资质",
        "移送司法机关",
    ):
        assert row in rows
    assert plan.indicator("MB_FINE_AMOUNT").unit == "万元"
    assert [p.name for p in plan.populations] == [
        "非法医疗美容-无证行医",
        "非法医疗美容-医疗机构",
        "非法制售使用-药品",
        "非法制售使用-医疗器械",
        "违法医疗美容广告",
        "违规互联网信息",
        "违规开展寄递业务信息",
    ]
    # "于2021年12月20日前将专项整治工作总结……报送国家卫生健康委"
    assert targets(plan, "MB_SUMMARY_SUBMITTED")[""][2] == date(2021, 12, 20)
    # "2021年6月-12月"
    assert (plan.start, plan.end) == (date(2021, 6, 1), date(2021, 12, 31))
