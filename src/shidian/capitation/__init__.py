"""County medical community capitation (县域医共体按人头总额预付): 001 第十七篇 四(二)1(1)、四(四)3、七(二).

From the resident fund to each 医共体's pot, its quarterly prepayments and its year end: the
risk reserve, the budget base, the 98% pot shared by headcount, surplus retained and shared
6:3:1 among county, township and village members by score, reasonable overspend shared with
the fund. The core (``budget``, ``prepayment``, ``year_end``, ``settlement``, ``checks``,
``explain``) is pure; ``io``/``report`` read and write files; ``service`` is the workflow.
"""
