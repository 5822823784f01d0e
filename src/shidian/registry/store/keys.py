"""Key rotation of the registry's encrypted identifiers (密钥轮换): every value rewritten under the
current data key (``shidian.platform.crypto``), in short transactions of ``BATCH`` rows so that
the registry stays in use meanwhile (a value is readable under its old key until rewritten)."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform.crypto import DataKeys
from shidian.platform.db.registry_schema import registry_guardians, registry_patients

#: Rows rewritten per transaction.
BATCH = 500
#: table → {column: the associated data it is encrypted with}
ENCRYPTED: tuple[tuple[sa.Table, dict[str, str]], ...] = (
    (registry_patients, {"name_enc": "name", "id_enc": "id_number", "address_enc": "address"}),
    (registry_guardians, {"name_enc": "guardian_name", "phone_enc": "guardian_phone"}),
)


def reencrypt(engine: sa.Engine, keys: DataKeys, batch: int = BATCH) -> int:
    """Rewrite every value not under the current key; returns how many values were rewritten."""
    rewritten = 0
    for table, columns in ENCRYPTED:
        last = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    sa.select(table.c.id, *(table.c[c] for c in columns))
                    .where(table.c.id > last)
                    .order_by(table.c.id)
                    .limit(batch)
                ).all()
                for row in rows:
                    values = {
                        column: keys.encrypt(keys.decrypt(row._mapping[column], aad), aad)
                        for column, aad in columns.items()
                        if row._mapping[column] is not None and not keys.is_current(row._mapping[column])
                    }
                    if values:
                        conn.execute(table.update().where(table.c.id == row.id).values(**values))
                        rewritten += len(values)
            if len(rows) < batch:
                break
            last = rows[-1].id
    return rewritten
