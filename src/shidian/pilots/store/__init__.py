"""The pilot tables (``platform.db.pilots_schema``): queries and writes, no rules.

``plans`` (loaded plans and their reporting units), ``reports`` (reports, values, change
requests), ``values`` (the indicator values the plans are judged on), ``supervision`` (visits,
findings, evidence, rectifications).
"""
