"""Desk claim ids are each institution's own (issue 22 finding 3): the key of
``insurance_desk_claims`` becomes (institution_id, claim_id), so one hospital's claim id tells
another nothing (the other may use the same id for a claim of its own).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "insurance_desk_claims"
#: PostgreSQL's name of the table's key as ``CREATE TABLE`` makes it (both before and after)
PK_NAME = f"{TABLE}_pkey"


def _key() -> list[str]:
    return list(sa.inspect(op.get_bind()).get_pk_constraint(TABLE)["constrained_columns"])


def _set_key(columns: list[str]) -> None:
    """Make ``columns`` the table's primary key: ALTER on PostgreSQL; a copy of the table on
    SQLite (which cannot change a key in place), its rows and indexes kept."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        name = sa.inspect(bind).get_pk_constraint(TABLE)["name"] or PK_NAME
        op.drop_constraint(name, TABLE, type_="primary")
        op.create_primary_key(PK_NAME, TABLE, columns)
        return
    reflected = sa.Table(TABLE, sa.MetaData(), autoload_with=bind)
    shape = sa.Table(
        TABLE,
        sa.MetaData(),
        *(
            sa.Column(c.name, c.type, nullable=c.nullable and c.name not in columns)
            for c in reflected.columns
        ),
        sa.PrimaryKeyConstraint(*columns),
        *(
            sa.ForeignKeyConstraint(fk.column_keys, [e.target_fullname for e in fk.elements])
            for fk in reflected.foreign_key_constraints
        ),
        *(sa.Index(i.name, *(c.name for c in i.columns), unique=i.unique) for i in reflected.indexes),
    )
    with op.batch_alter_table(TABLE, copy_from=shape, recreate="always"):
        pass


def upgrade() -> None:
    # 0002 creates the insurance tables from the current schema module: a database created from
    # scratch already has the new key.
    if _key() != ["institution_id", "claim_id"]:
        _set_key(["institution_id", "claim_id"])


def downgrade() -> None:
    bind = op.get_bind()
    shared = bind.execute(
        sa.text(f"SELECT claim_id FROM {TABLE} GROUP BY claim_id HAVING COUNT(*) > 1")
    ).first()
    if shared is not None:
        raise RuntimeError(
            f"就诊编号 {shared.claim_id} 在多个医疗机构使用, 不能降级到 0008 "
            "(a claim id used by several institutions: cannot go back to one namespace)"
        )
    if _key() != ["claim_id"]:
        _set_key(["claim_id"])
