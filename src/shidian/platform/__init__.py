"""What every domain shares (平台): the database (engine, schema, migrations), accounts and
sessions, the unit tree, access (roles and scopes), typed audit events, the clock, files of
datasets and runs, encryption of personal identifiers and background jobs.

Stores and services of the domains build on it; the pure cores never import it.
"""
