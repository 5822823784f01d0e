"""The pilot workflows (one function each), for the web pages, the API and the demo.

``plans`` (load a plan, read plans), ``reports`` (open, save/submit, upload, approve/return,
change requests, the index and completeness), ``monitoring`` (attainment and score cards),
``supervision`` (the supervision list, visits, findings, evidence, rectifications). Each takes
an open connection (the caller owns the transaction) and the acting user, checks scope, logs
the typed audit event (``shidian.pilots.events``) and returns ``(result, problems)`` for input
problems or raises ``shidian.problems.Refused`` (forbidden, not found, conflict).
"""
