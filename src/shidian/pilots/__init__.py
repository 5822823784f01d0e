"""Pilot plans (试点方案): plans as data, aggregation up the hierarchy, attainment and scoring.

``model`` (the records), ``plan_file`` (YAML), ``plan_excel`` (Excel for officials),
``hierarchy`` (市 → 县 → 乡镇 → 村), ``aggregate`` (Σ numerators ÷ Σ denominators, columnar),
``attainment`` (达标进度, 红黄绿), ``scoring`` (考核评分与排名), ``scorecard_excel``.
"""
