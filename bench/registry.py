"""Benchmark: the registry's work list and indicators at province scale on PostgreSQL.

Builds (not timed) a fresh PostgreSQL database ``shidian_bench_registry`` at the schema's
head: a province of ``--counties`` counties × 15 townships × 15 villages (GB/T 2260-style
codes), ``--patients`` patients (names and ID numbers really encrypted with AES-GCM, ID HMACs)
and ``--followups`` follow-ups over one year, bulk-loaded with COPY; then each patient's
latest follow-up is written back (class, risk, next due date) as recording follow-ups does.

Then times, over ``--repeat`` calls each (p50 / p99, PASS when p99 < 300 ms):

* the work list of a doctor assigned to one township's 15 villages
  (``registry.service.reports.worklist_items``, including the scope lookup: the recursive walk of the unit tree);
* the indicators of one county for the year (``registry.service.reports.area_indicators``: the
  shared SQL of ``shidian.registry.indicator_sql`` over the county's patients and their follow-ups,
  including the walk from the county to its villages).

Never asserts: the exit status is 0 unless PostgreSQL is missing.

Usage: ``.venv/bin/python bench/registry.py [--patients 500000] [--followups 2000000]
[--counties 100] [--repeat 50] [--keep]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shidian.insurance.id_number import check_char, mask_id
from shidian.platform import clock
from shidian.platform.accounts import get_user
from shidian.platform.crypto import DataKeys
from shidian.platform.db.engine import make_engine, upgrade
from shidian.registry import Period, registry_policy
from shidian.registry.service.reports import area_indicators, worklist_items
from shidian.registry.store.scope import scope_of, villages_under

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB = "shidian_bench_registry"
TARGET_MS = 300
YEAR = 2020
TOWNSHIPS, VILLAGES = 15, 15
DISORDERS = (
    "schizophrenia",
    "bipolar",
    "schizoaffective",
    "paranoid_psychosis",
    "epilepsy",
    "intellectual_disability",
)
ICD = ("F20.0", "F31.1", "F25.0", "F22", "F06.2", "F70")


def _copy(engine: sa.Engine, table: str, columns: str, lines: Iterator[str]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:  # type: ignore[attr-defined]
            buffer = io.StringIO()
            for n, line in enumerate(lines, 1):
                buffer.write(line)
                if n % 50_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def build(engine: sa.Engine, patients: int, followups: int, counties: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = DataKeys.from_secret("bench-registry-" + "k" * 40)
    aead = AESGCM(keys.aead_key)
    t0 = time.perf_counter()
    # units: province 450000, cities by 10 counties, counties, townships, villages
    rows: list[str] = ["1,450000,广西(基准),city,,450000"]
    next_id = 2
    village_ids: list[int] = []
    township_of_village: list[int] = []
    for c in range(counties):
        county_code = f"45{c // 10 + 1:02d}{c % 10 + 21:02d}"
        county_id = next_id
        rows.append(f"{county_id},{county_code},县{c},county,1,{county_code}")
        next_id += 1
        for t in range(TOWNSHIPS):
            township_code = f"{county_code}{100 + t:03d}"
            township_id = next_id
            rows.append(f"{township_id},{township_code},镇{c}-{t},township,{county_id},{township_code}")
            next_id += 1
            for v in range(VILLAGES):
                village_code = f"{township_code}{v + 1:03d}"
                rows.append(f"{next_id},{village_code},村{c}-{t}-{v},village,{township_id},{village_code}")
                village_ids.append(next_id)
                township_of_village.append(township_id)
                next_id += 1
    _copy(engine, "units", "id, code, name, kind, parent_id, region_code", (r + "\n" for r in rows))
    with engine.begin() as conn:
        conn.execute(sa.text(f"SELECT setval('units_id_seq', {next_id})"))
        office = conn.execute(
            sa.text(
                "INSERT INTO units (code, name, kind) VALUES ('BENCH-OFFICE', '试点办', 'office') RETURNING id"
            )
        ).scalar_one()
        now = clock.now()
        doctor = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, password_hash, role, unit_id, active, created_at, password_changed_at) "
                "VALUES ('bench_doctor', '精防医生', 'x', 'mental_health_doctor', :u, true, :t, :t) RETURNING id"
            ),
            {"u": township_of_village[0], "t": now},
        ).scalar_one()
        conn.execute(
            sa.text("INSERT INTO registry_doctor_areas (user_id, unit_id) VALUES (:d, :u)"),
            {"d": doctor, "u": township_of_village[0]},
        )
        del office
    print(f"units: {len(rows):,} ({time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    villages = np.array(village_ids)[rng.integers(0, len(village_ids), patients)]
    disorder = rng.choice(len(DISORDERS), patients, p=[0.62, 0.14, 0.06, 0.06, 0.05, 0.07])
    registered = np.datetime64("2012-01-01") + rng.integers(0, 365 * 9, patients).astype("timedelta64[D]")
    status = rng.choice(4, patients, p=[0.93, 0.03, 0.02, 0.02])
    status_names = ("managed", "moved", "deceased", "lost")
    created = clock.now().isoformat()

    def patient_lines() -> Iterator[str]:
        for i in range(patients):
            first17 = f"450{i // 1000 % 1000:03d}19{50 + i % 50:02d}0101{i % 1000:03d}"
            number = first17 + check_char(first17)
            nonce = i.to_bytes(12, "big")
            name_enc = nonce + aead.encrypt(nonce, f"患者{i}".encode(), b"name")
            id_enc = nonce + aead.encrypt(nonce, number.encode(), b"id_number")
            s = status_names[status[i]]
            status_on = (
                "2019-06-01"
                if s in ("moved", "deceased") and i % 2
                else ("2020-09-01" if s != "managed" else "")
            )
            yield (
                f"{i + 1},P{i:010X},\\x{name_enc.hex()},\\x{id_enc.hex()},{keys.id_hmac(number)},患*{i % 10},"
                f"{mask_id(number, 4, 4)},{'M' if i % 2 else 'F'},{1950 + i % 50},{villages[i]},"
                f"{DISORDERS[disorder[i]]},{ICD[disorder[i]]},{registered[i]},medication,false,{s},{status_on},true,{created}\n"
            )

    _copy(
        engine,
        "registry_patients",
        "id, registry_no, name_enc, id_enc, id_hmac, name_masked, id_masked, sex, birth_year, village_id, "
        "disorder, icd10, registered_on, treatment, rehab, status, status_on, has_guardian, created_at",
        patient_lines(),
    )
    print(f"patients: {patients:,} encrypted and copied ({time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    patient = rng.integers(1, patients + 1, followups)
    day = np.datetime64(f"{YEAR}-01-01") + rng.integers(0, 366, followups).astype("timedelta64[D]")
    risk = rng.choice(6, followups, p=[0.80, 0.08, 0.06, 0.03, 0.02, 0.01])
    classes = np.where(risk >= 3, "unstable", np.where(risk >= 1, "basic", "stable"))
    due = day + np.where(risk >= 1, 14, 91).astype("timedelta64[D]")
    treatment = rng.choice(3, followups, p=[0.82, 0.05, 0.13])
    rehab = rng.random(followups) < 0.6
    support = rng.random(followups) < 0.55
    names = ("medication", "hospital", "none")

    def followup_lines() -> Iterator[str]:
        for i in range(followups):
            yield (
                f"{patient[i]},{villages[patient[i] - 1]},{day[i]},{risk[i]},remitted,good,good,false,false,{names[treatment[i]]},"
                f"{'true' if rehab[i] else 'false'},{'true' if support[i] else 'false'},false,{classes[i]},{due[i]},{created}\n"
            )

    _copy(
        engine,
        "registry_followups",
        "patient_id, village_id, followed_on, risk_level, symptoms, insight, social_function, adverse_reaction, "
        "physical_illness, treatment, rehab, psy_support, health_check, classification, next_due_on, created_at",
        followup_lines(),
    )
    print(f"follow-ups: {followups:,} copied ({time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO registry_assessments (patient_id, followup_id, assessed_on, risk_level) "
                "SELECT patient_id, id, followed_on, risk_level FROM registry_followups"
            )
        )
        conn.execute(
            sa.text(
                """UPDATE registry_patients p SET last_followed_on = l.followed_on, last_class = l.classification,
                   last_risk = l.risk_level, next_due_on = l.next_due_on
                   FROM (SELECT DISTINCT ON (patient_id) patient_id, followed_on, classification, risk_level, next_due_on
                         FROM registry_followups ORDER BY patient_id, followed_on DESC, id DESC) l
                   WHERE p.id = l.patient_id"""
            )
        )
        conn.execute(
            sa.text("UPDATE registry_patients SET next_due_on = registered_on + 14 WHERE next_due_on IS NULL")
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    print(f"assessments, latest follow-ups, analyze ({time.perf_counter() - t0:.1f} s)")


def timed(label: str, repeat: int, call: Callable[[], int]) -> bool:
    call()  # warm-up
    samples = []
    rows = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    ok = p99 < TARGET_MS
    print(
        f"{label}: {rows} rows, p50 {p50:.1f} ms, p99 {p99:.1f} ms — {'PASS' if ok else 'FAIL'} (target < {TARGET_MS} ms)"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--followups", type=int, default=2_000_000)
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--keep", action="store_true", help="reuse the database if it was built before")
    args = parser.parse_args()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DB}).first()
            if exists and not args.keep:
                conn.execute(sa.text(f'DROP DATABASE "{DB}" WITH (FORCE)'))
            if not exists or not args.keep:
                conn.execute(sa.text(f'CREATE DATABASE "{DB}"'))
    except sa.exc.OperationalError as exc:
        sys.exit(f"PostgreSQL is not available at {ADMIN_URL}: {exc}")
    engine = make_engine(ADMIN_URL.rsplit("/", 1)[0] + f"/{DB}")
    if not exists or not args.keep:
        upgrade(engine)
        build(engine, args.patients, args.followups, args.counties, args.seed)
    policy = registry_policy()
    today = dt.date(YEAR, 12, 1)
    with engine.connect() as conn:
        doctor_id = conn.execute(sa.text("SELECT id FROM users WHERE username = 'bench_doctor'")).scalar_one()
        county_id, county_code = conn.execute(
            sa.text("SELECT id, code FROM units WHERE kind = 'county' ORDER BY id LIMIT 1")
        ).one()
    print(
        f"province: {args.patients:,} patients, {args.followups:,} follow-ups in {YEAR}; {args.counties} counties"
    )

    def work() -> int:
        with engine.connect() as conn:
            user = get_user(conn, doctor_id)
            assert user is not None
            return len(worklist_items(conn, scope_of(conn, user), policy, today))

    def county() -> int:
        with engine.connect() as conn:
            villages = villages_under(conn, [county_id])
            table = area_indicators(conn, policy, county_id, county_code, villages, Period.parse(str(YEAR)))
            return table.num_rows

    with engine.connect() as conn:
        villages = villages_under(conn, [county_id])
        table = area_indicators(conn, policy, county_id, county_code, villages, Period.parse(str(YEAR)))
        for r in table.to_pylist():
            print(
                f"  {county_code} {r['indicator_code']}: {r['numerator']:.0f} / {r['denominator'] or 0:.0f}"
            )
    load = os.getloadavg()
    print(
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores (timings include waiting for a core)"
    )
    ok = timed("work list (doctor, one township)", args.repeat, work)
    ok = timed(f"indicators (county {county_code}, year)", args.repeat, county) and ok
    print("PASS" if ok else "FAIL")
    engine.dispose()
    admin.dispose()


if __name__ == "__main__":
    main()
