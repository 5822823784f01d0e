"""Encryption at rest with a choice of cipher and key rotation (issue 22, "Also"): SM4-GCM (国密,
HKDF-SM3) and AES-256-GCM under versioned keys; values written before versions existed still
decrypt; ``reencrypt`` rewrites every value under the current key, in SQLite, while old keys stay
readable until it has run."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shidian.platform.accounts import create_unit
from shidian.platform.crypto import DataKeys, Key
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.registry_schema import registry_patients
from shidian.registry.store.keys import ENCRYPTED, reencrypt

OLD = "o" * 40
NEW = "n" * 40


def test_sm4_and_aes_round_trip_bound_to_their_column():
    for cipher in ("aes-gcm", "sm4-gcm"):
        keys = DataKeys.from_secret(OLD, cipher=cipher)
        blob = keys.encrypt("张三", "name")
        assert blob[:2] == bytes([0xA5, 1 if cipher == "aes-gcm" else 2])
        assert keys.decrypt(blob, "name") == "张三"
        with pytest.raises(InvalidTag):
            keys.decrypt(blob, "address")  # moved to another column: refused
    assert len(Key.derive(OLD, 1, "sm4-gcm").key) == 16  # SM4: a 128-bit key from HKDF-SM3


def test_a_value_written_before_key_versions_still_decrypts():
    keys = DataKeys.from_secret(OLD)
    nonce = secrets.token_bytes(12)
    legacy = nonce + AESGCM(keys.current.key).encrypt(nonce, "李四".encode(), b"name")  # the old layout
    assert keys.decrypt(legacy, "name") == "李四"
    assert not keys.is_current(legacy)


def test_rotation_old_values_readable_until_reencrypted_then_under_the_new_key(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    old = DataKeys.from_env("x" * 40, {"SHIDIAN_DATA_KEY": OLD})
    env = {
        "SHIDIAN_DATA_KEY": NEW,
        "SHIDIAN_DATA_KEY_VERSION": "2",
        "SHIDIAN_DATA_CIPHER": "sm4-gcm",
        "SHIDIAN_DATA_KEYS_OLD": f"1:aes-gcm:{OLD}",
    }
    new = DataKeys.from_env("x" * 40, env)
    assert new.id_hmac("450821198001010011") == old.id_hmac("450821198001010011")  # lookups survive
    with engine.begin() as conn:
        village = create_unit(conn, "450821100001", "东村", "village")
        conn.execute(
            registry_patients.insert().values(
                registry_no="P0000000001",
                name_enc=old.encrypt("王五", "name"),
                id_enc=old.encrypt("450821198001010011", "id_number"),
                id_hmac=old.id_hmac("450821198001010011"),
                name_masked="王*",
                id_masked="4508**********0011",
                sex="M",
                birth_year=1980,
                village_id=village,
                disorder="schizophrenia",
                icd10="F20.0",
                registered_on=dt.date(2020, 1, 1),
                treatment="none",
                rehab=False,
                status="managed",
                has_guardian=False,
                created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            )
        )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(registry_patients.c.name_enc)).scalar_one()
    assert new.decrypt(stored, "name") == "王五"  # readable under the old key during the rotation
    assert reencrypt(engine, new) == 2  # name and id number (no address)
    assert reencrypt(engine, new) == 0  # done: nothing left
    with engine.connect() as conn:
        stored = conn.execute(sa.select(registry_patients.c.name_enc)).scalar_one()
    assert new.is_current(stored) and stored[1] == 2  # SM4-GCM, version 2
    alone = DataKeys.from_env(
        "x" * 40, {"SHIDIAN_DATA_KEY": NEW, "SHIDIAN_DATA_KEY_VERSION": "2", "SHIDIAN_DATA_CIPHER": "sm4-gcm"}
    )
    assert alone.decrypt(stored, "name") == "王五"  # the old key is no longer needed
    assert {t.name for t, _ in ENCRYPTED} == {"registry_patients", "registry_guardians"}
    engine.dispose()
