"""The insurance domain's tables (SQLAlchemy Core): queries and writes, no rules.

``datasets``: datasets and the persons and institutions the desk looks up; ``desk``: the
discharge desk's person-years and claims; ``runs``: the batch runs.
"""
