"""The registry's store (严重精神障碍患者档案库): the registry tables' queries and writes, no rules.

``scope`` (which villages a user sees), ``patients`` (registering, reading), ``followups``
(follow-ups, assessments, case-management teams), ``reports`` (work list, warnings, indicator
and reward inputs, export rows), ``assignments`` (doctor ↔ area). Every function takes a
connection inside the caller's one transaction. The rules are the core's (``shidian.registry``)
and the workflows the service's (``shidian.registry.service``).
"""
