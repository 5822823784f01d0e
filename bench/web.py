"""Web latency under load: p50/p99 of the overview, a hospital's case list and a case
explanation, with 50 concurrent clients on loopback, PostgreSQL as the database.

    .venv/bin/python bench/web.py --cases 1000000 --clients 50 --requests 1500

Steps: generate a region (cached), import it and settle it through the app's own code into a
fresh PostgreSQL database, publish the run, start ``shidian serve`` in a child process, sign
in the clients, then fire requests. Target: p99 < 300 ms for each page. Prints the numbers
and PASS/FAIL; nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-pass-2020"
TARGET_P99_MS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(cases: int, workdir: Path, database_url: str, var_dir: Path) -> tuple[str, list[str], list[str]]:
    """Import and settle a region; returns (run id, hospital ids, sample case ids per hospital)."""
    from shidian.demo.drg import generate_drg_region
    from shidian.web.accounts import create_unit, create_user
    from shidian.web.db.engine import make_engine, upgrade
    from shidian.web.drg_runs import RunExecutor, check_files, commit_dataset, create_run, publish_run

    data = workdir / f"region-{cases}"
    if not (data / "cases.csv").is_file():
        print(f"generating {cases:,} cases …", flush=True)
        generate_drg_region(data, cases=cases, hospitals=120, seed=2020)
    engine = make_engine(database_url)
    upgrade(engine)
    started = time.perf_counter()
    staging, problems, manifest = check_files(
        (p.name, p.read_bytes()) for p in sorted(data.iterdir()) if p.is_file()
    )
    assert manifest is not None, problems[:5]
    with engine.begin() as conn:
        bureau = create_unit(conn, "BUREAU", "医疗保障局", "bureau")
        create_user(conn, "officer", PASSWORD, "settlement_officer", bureau)
        dataset = commit_dataset(conn, var_dir, staging, manifest, "bench", None)
        run_id = create_run(conn, dataset, "guigang-2020", None, None, "bench")
    executor = RunExecutor(engine, var_dir)
    executor.submit(run_id).result()
    executor.shutdown()
    with engine.begin() as conn:
        status = conn.execute(sa.text("SELECT status, error FROM runs WHERE id = :id"), {"id": run_id}).one()
        assert status[0] == "draft", status[1]
        publish_run(conn, run_id, 1)
    print(f"imported and settled in {time.perf_counter() - started:.1f} s", flush=True)
    import duckdb

    parquet = var_dir / "runs" / run_id / "case_points.parquet"
    hospitals = [
        r[0] for r in duckdb.sql(f"SELECT DISTINCT hospital_id FROM '{parquet}' ORDER BY 1").fetchall()
    ]
    sample = [r[0] for r in duckdb.sql(f"SELECT case_id FROM '{parquet}' USING SAMPLE 2000 ROWS").fetchall()]
    with engine.begin() as conn:
        for hospital_id in hospitals[:25]:
            unit = create_unit(conn, hospital_id, hospital_id, "hospital", hospital_id=hospital_id)
            create_user(conn, hospital_id.lower(), PASSWORD, "hospital", unit)
    engine.dispose()
    return run_id, hospitals[:25], sample


async def sign_in(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(keepalive_expiry=4))
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code in (200, 303), response.status_code
    return client


async def load(
    base: str, run_id: str, hospitals: list[str], sample: list[str], clients: int, requests: int
) -> dict[str, list[float]]:
    officers = [await sign_in(base, "officer") for _ in range(clients // 2)]
    hospital_clients = [
        (h, await sign_in(base, h.lower())) for h in (hospitals * clients)[: clients - len(officers)]
    ]
    timings: dict[str, list[float]] = {"overview": [], "case list": [], "case explanation": []}
    rng = random.Random(7)

    async def one(kind: str, client: httpx.AsyncClient, url: str) -> None:
        started = time.perf_counter()
        response = await client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        timings[kind].append(elapsed)

    jobs = []
    for i in range(requests):
        officer = officers[i % len(officers)]
        hospital, hospital_client = hospital_clients[i % len(hospital_clients)]
        jobs.append(("overview", officer, f"/drg/overview?run={run_id}"))
        jobs.append(
            (
                "case list",
                hospital_client,
                f"/drg/hospitals/{hospital}/cases?run={run_id}&page={rng.randint(1, 20)}",
            )
        )
        jobs.append(("case explanation", officer, f"/drg/runs/{run_id}/cases/{rng.choice(sample)}"))
    rng.shuffle(jobs)
    queue: asyncio.Queue[tuple[str, httpx.AsyncClient, str]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            await one(*queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(clients)))
    for client in officers + [c for _, c in hospital_clients]:
        await client.aclose()
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1500, help="requests per page kind")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    name = f"shidian_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    var_dir = Path(tempfile.mkdtemp(prefix="shidian-bench-web-"))
    server = None
    try:
        run_id, hospitals, sample = prepare(args.cases, args.workdir, database_url, var_dir)
        port = free_port()
        env = {**os.environ, "SHIDIAN_DATABASE_URL": database_url, "SHIDIAN_VAR_DIR": str(var_dir)}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("shidian")),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        timings = asyncio.run(load(base, run_id, hospitals, sample, args.clients, args.requests))
        print(
            f"\n{args.cases:,} cases, {args.clients} concurrent clients, {args.workers} server processes, PostgreSQL"
        )
        print(
            f"{'page':<18}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}  target p99 < {TARGET_P99_MS:.0f} ms"
        )
        failed = False
        for kind, values in timings.items():
            p50, p99 = statistics.median(values), percentile(values, 0.99)
            verdict = "PASS" if p99 < TARGET_P99_MS else "FAIL"
            failed |= verdict == "FAIL"
            print(f"{kind:<18}{len(values):>10}{p50:>10.1f}{p99:>10.1f}  {verdict}")
        return 1 if failed else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
