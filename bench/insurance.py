"""Benchmark: resident-insurance claims per second for a county-year batch.

Generates a demo county in memory (not timed) with enough persons for ``--claims`` claims,
then times, each the best of ``--repeat`` runs,

* ``price_claims``: the pricing core the batch and the discharge desk share (frame, deductibles,
  caps, the rule trail) — the number the target is about;
* ``reimburse``: the whole core of a batch (validation, pricing, ledger, statements, notices,
  health checks, invariants), without reading or writing files.

Prints claims per second and PASS/FAIL against the target (2,000,000 claims in under 10 s).

Then the discharge desk (``POST /api/insurance/claims``): a demo county's persons and
institutions are imported into a fresh PostgreSQL database, the app is served by uvicorn in its
own process on loopback, and ``--clients`` desks (threads, one keep-alive connection each) post
the county's claims in discharge order. A desk is a clerk at a counter: it submits a claim,
then thinks ``--think`` seconds ± ``--jitter`` (uniform) before the next — 50 desks at 1 s is
about 50 claims per second across the county, far above a county's real peak (500,000 insured
make ~1.1 M claims a year: ~4 per second on average in working hours). It prints p50/p99
latency and PASS/FAIL against the target (p99 < 20 ms), then, as information, the saturation
throughput: the same desks in a closed loop with no think time.

Never asserts: the exit status is 0 unless the arguments are wrong (without PostgreSQL the desk
part prints SKIPPED).

Usage: ``.venv/bin/python bench/insurance.py [--claims 2000000] [--repeat 2] [--seed 2010]
[--no-batch] [--no-desk] [--workers 2] [--clients 50] [--think 1.0] [--jitter 0.2] [--desk-seconds 30]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from shidian.demo.insurance import build_county
from shidian.insurance.batch import reimburse
from shidian.insurance.claims import price_claims
from shidian.insurance.model import InsuranceInputs
from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import read_reference_policy

TARGET_P99_MS = 20.0
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_CLAIMS = 2_000_000
TARGET_SECONDS = 10.0
CLAIMS_PER_PERSON = 2.2  # a little under what the demo county draws, so the batch has the target size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=TARGET_CLAIMS, help="about this many claims")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--no-batch", action="store_true", help="skip the batch part")
    parser.add_argument("--no-desk", action="store_true", help="skip the discharge-desk part")
    parser.add_argument("--clients", type=int, default=50, help="concurrent desks")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a desk waits between claims")
    parser.add_argument("--jitter", type=float, default=0.2, help="± seconds of uniform jitter on --think")
    parser.add_argument("--desk-seconds", type=float, default=30.0, help="how long the desks post")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (one per core)")
    parser.add_argument("--desk-persons", type=int, default=20_000, help="insured persons of the desk county")
    args = parser.parse_args()
    if not args.no_batch:
        batch_bench(args)
    if not args.no_desk:
        desk_bench(args)


def batch_bench(args: argparse.Namespace) -> None:
    policy, problems = parse_insurance_policy(*read_reference_policy("insurance", "county-2010"))
    assert policy is not None, problems
    persons = max(1000, int(args.claims / CLAIMS_PER_PERSON))
    started = time.perf_counter()
    tables = build_county(persons=persons, seed=args.seed, year=policy.year)
    claims = tables["claims"]
    print(
        f"county: {persons:,} persons, {claims.num_rows:,} claims (generated in {time.perf_counter() - started:.1f} s)"
    )
    inputs = InsuranceInputs(
        persons=tables["persons"],
        institutions=tables["institutions"],
        claims=claims,
        villages=tables["villages"],
        prior_year=tables["prior_year"],
    )

    def best(run: object) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return min(times)

    pricing = best(lambda: price_claims(claims, inputs.persons, inputs.institutions, policy))
    batch = best(lambda: reimburse(inputs, policy))
    n = claims.num_rows
    scaled = pricing * TARGET_CLAIMS / n
    print(f"{'stage':<36}{'seconds':>10}{'claims/s':>14}")
    print(f"{'price_claims (pricing + rule trail)':<36}{pricing:>10.2f}{n / pricing:>14,.0f}")
    print(f"{'reimburse (whole batch core)':<36}{batch:>10.2f}{n / batch:>14,.0f}")
    verdict = "PASS" if scaled < TARGET_SECONDS else "FAIL"
    print(
        f"target: {TARGET_CLAIMS:,} claims priced in < {TARGET_SECONDS:.0f} s; "
        f"measured {scaled:.2f} s for {TARGET_CLAIMS:,} (scaled from {n:,}): {verdict}"
    )


# ---- the discharge desk ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _claim_bodies(claims: Any) -> list[dict[str, Any]]:
    """The county's claims as desk requests, in discharge order."""
    ordered = claims.sort_by(
        [("end_date", "ascending"), ("start_date", "ascending"), ("claim_id", "ascending")]
    )
    bodies = []
    for row in ordered.to_pylist():
        body = {k: (str(v) if not isinstance(v, int | type(None)) else v) for k, v in row.items()}
        body = {k: v for k, v in body.items() if v is not None and not k.startswith("_")}
        bodies.append(body)
    return bodies


def _session(host: str, port: int, username: str, password: str) -> dict[str, str]:
    """Sign in over HTTP; the headers an API client sends (cookie and CSRF token)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    cookie = (page.getheader("set-cookie") or "").split(";")[0]
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert match, "no CSRF token on /login"
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": match.group(1)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    conn.request("POST", "/login", body=form, headers=headers)
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 303, answer.status
    cookie = (answer.getheader("set-cookie") or cookie).split(";")[0]
    conn.request("GET", "/policies", headers={"Cookie": cookie})
    page = conn.getresponse()
    match = re.search(r'name="csrf-token" content="([^"]*)"', page.read().decode())
    assert match, "no CSRF token on /policies"
    conn.close()
    return {"Cookie": cookie, "X-CSRF-Token": match.group(1), "Content-Type": "application/json"}


def _run_desks(
    host: str,
    port: int,
    headers: dict[str, str],
    bodies: list[dict[str, Any]],
    args: argparse.Namespace,
    think: bool,
) -> tuple[list[float], dict[int, int], float]:
    """``args.clients`` desks post ``bodies`` (shared queue) for ``args.desk_seconds``; latencies."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(bodies)
    seconds = args.desk_seconds if think else min(args.desk_seconds, 15.0)
    stop = time.perf_counter() + seconds

    def desk(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection(host, port, timeout=60)
        if think:  # desks do not all start in the same millisecond
            time.sleep(rng.uniform(0, args.think))
        while time.perf_counter() < stop:
            with lock:
                body = next(queue, None)
            if body is None:
                break
            payload = json.dumps(body)
            start = time.perf_counter()
            conn.request("POST", "/api/insurance/claims", body=payload, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
            if think:
                time.sleep(max(0.0, args.think + rng.uniform(-args.jitter, args.jitter)))
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=desk, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def desk_bench(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from shidian.demo.insurance import generate_insurance_county
    from shidian.web.accounts import create_unit, create_user
    from shidian.web.db.engine import make_engine, upgrade
    from shidian.web.insurance_datasets import import_insurance_dataset

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shidian_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"desk: SKIPPED, PostgreSQL is not available at {POSTGRES_ADMIN_URL}: {exc}")
        return
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    server: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="shidian-desk-bench-") as tmp:
        try:
            data, var = Path(tmp) / "data", Path(tmp) / "var"
            counts = generate_insurance_county(data, persons=args.desk_persons, seed=args.seed)
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            with engine.begin() as conn:
                unit = create_unit(conn, "BUREAU", "县医保局", "bureau")
                create_user(conn, "officer", "bench-password-2010", "settlement_officer", unit, "经办")
                files = [(f"{t}.csv", (data / f"{t}.csv").read_bytes()) for t in ("persons", "institutions")]
                dataset_id, problems = import_insurance_dataset(
                    conn, var, files, "county-2010", "bench", None
                )
            assert dataset_id is not None, problems[:5]
            engine.dispose()
            print(
                f"desk county: {counts['persons.csv']:,} persons, {counts['claims.csv']:,} claims to post "
                f"(imported in {time.perf_counter() - started:.1f} s); PostgreSQL, uvicorn, {args.workers} worker(s)"
            )
            from shidian.insurance.io import read_inputs

            inputs, problems, _ = read_inputs(data)
            assert inputs is not None, problems[:5]
            bodies = _claim_bodies(inputs.claims)
            port = _free_port()
            env = os.environ | {
                "SHIDIAN_DATABASE_URL": url,
                "SHIDIAN_VAR_DIR": str(var),
                "SHIDIAN_SECRET_KEY": "bench-" + "k" * 48,
            }
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "shidian.web.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--workers",
                    str(args.workers),
                ],
                env=env,
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            headers = _session("127.0.0.1", port, "officer", "bench-password-2010")
            _run_desks(
                "127.0.0.1",
                port,
                headers,
                bodies[:200],
                argparse.Namespace(clients=4, think=0.0, jitter=0.0, desk_seconds=5.0),
                think=False,
            )  # warm up
            bodies = bodies[200:]
            latencies, statuses, elapsed = _run_desks("127.0.0.1", port, headers, bodies, args, think=True)
            p50, p99 = _percentile(latencies, 0.50) * 1000, _percentile(latencies, 0.99) * 1000
            print(
                f"desk, {args.clients} desks, think {args.think:g} s ± {args.jitter:g} s: {len(latencies):,} claims "
                f"in {elapsed:.1f} s ({len(latencies) / elapsed:,.1f}/s), statuses {dict(sorted(statuses.items()))}"
            )
            print(f"  latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms")
            verdict = "PASS" if p99 < TARGET_P99_MS else "FAIL"
            print(f"target: p99 < {TARGET_P99_MS:.0f} ms under {args.clients} desks: {verdict}")
            latencies, statuses, elapsed = _run_desks(
                "127.0.0.1", port, headers, bodies[len(latencies) :], args, think=False
            )
            print(
                f"saturation (information), {args.clients} desks in a closed loop, no think time: "
                f"{len(latencies) / elapsed:,.0f} claims/s, p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
                f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, statuses {dict(sorted(statuses.items()))}"
            )
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
