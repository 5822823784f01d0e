"""Benchmark: resident-insurance claims per second for a county-year batch.

Generates a demo county in memory (not timed) with enough persons for ``--claims`` claims,
then times, each the best of ``--repeat`` runs,

* ``price_claims``: the pricing core (frame, deductibles, caps, the rule trail);
* ``reimburse``: the whole core of a batch (validation, pricing, ledger, statements, notices,
  health checks, invariants), without reading or writing files — the number the target is
  judged on (the stricter reading of "a county-year batch").

Prints claims per second and PASS/FAIL against the target (2,000,000 claims in under 10 s) and
against issue 20's (under 6 s, a margin for a noisy host).

Then the discharge desk (``POST /api/insurance/claims``): a demo county's persons and
institutions are imported into a fresh PostgreSQL database, the app is served by uvicorn in its
own process on loopback, and ``--clients`` desks (wrk connections: a C client, so the desks
take little of the server's CPU) post the county's claims in discharge order. A desk is a clerk at a counter: it submits a claim,
then thinks ``--think`` seconds ± ``--jitter`` (uniform) before the next — 50 desks at 1 s is
about 50 claims per second across the county, far above a county's real peak (500,000 insured
make ~1.1 M claims a year: ~4 per second on average in working hours). It prints p50/p99
latency, the CPU a claim costs in the server's processes and in PostgreSQL (from ``/proc``:
steadier than latency on a shared host) and PASS/FAIL against the target (p99 < 20 ms), then, as
information, the saturation throughput: the same desks in a closed loop with no think time.

Never asserts: the exit status is 0 unless the arguments are wrong (without PostgreSQL the desk
part prints SKIPPED).

``--sql-path`` also times ``price_claims`` on the joined claim frame (``frame.JoinedFrame``,
the path Spark runs, here on DuckDB): the measurement that keeps the positional frame as
DuckDB's fast path (docs/scale.md).

Usage: ``.venv/bin/python bench/insurance.py [--claims 2000000] [--repeat 3] [--seed 2010]
[--sql-path] [--no-batch] [--no-desk] [--workers 2] [--clients 50] [--think 1.0] [--jitter 0.2] [--desk-seconds 60]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from wrk_think import cpu_snapshot, cpu_used, think_delay

from shidian.demo.insurance import build_county
from shidian.dialect import DuckDBEngine
from shidian.insurance.batch import reimburse
from shidian.insurance.claims import price_claims
from shidian.insurance.model import InsuranceInputs
from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import read_reference_policy

TARGET_P99_MS = 20.0
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_CLAIMS = 2_000_000
TARGET_SECONDS = 10.0
ISSUE_20_SECONDS = 6.0  # issue 20: the whole core with a margin on a noisy host
CLAIMS_PER_PERSON = 2.2  # a little under what the demo county draws, so the batch has the target size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=TARGET_CLAIMS, help="about this many claims")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=2010)
    parser.add_argument("--no-batch", action="store_true", help="skip the batch part")
    parser.add_argument("--no-desk", action="store_true", help="skip the discharge-desk part")
    parser.add_argument(
        "--sql-path",
        action="store_true",
        help="also time the pricing on the joined claim frame (the SQL path Spark runs) on DuckDB",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent desks")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a desk waits between claims")
    parser.add_argument("--jitter", type=float, default=0.2, help="± seconds of uniform jitter on --think")
    parser.add_argument(
        "--desk-seconds",
        type=float,
        default=60.0,
        help="how long the desks post (60 s: ~3,000 claims, so p99 is the 30th slowest)",
    )
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
        contributions=tables["contributions"],
    )

    def best(run: object) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            run()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return min(times)

    pricing = best(lambda: price_claims(claims, inputs.persons, inputs.institutions, policy))
    joined = (
        best(lambda: price_claims(claims, inputs.persons, inputs.institutions, policy, engine=DuckDBEngine()))
        if args.sql_path
        else None
    )
    batch = best(lambda: reimburse(inputs, policy))
    n = claims.num_rows
    scaled = batch * TARGET_CLAIMS / n
    print(f"{'stage':<36}{'seconds':>10}{'claims/s':>14}")
    print(f"{'price_claims (pricing + rule trail)':<36}{pricing:>10.2f}{n / pricing:>14,.0f}")
    if joined is not None:  # the SQL path Spark runs, on DuckDB: why the positional frame stays
        print(f"{'  the same, joined frame (Spark path)':<36}{joined:>10.2f}{n / joined:>14,.0f}")
    print(f"{'reimburse (whole batch core)':<36}{batch:>10.2f}{n / batch:>14,.0f}")
    for label, seconds in (("target", TARGET_SECONDS), ("issue 20 target", ISSUE_20_SECONDS)):
        verdict = "PASS" if scaled < seconds else "FAIL"
        print(
            f"{label}: a county-year batch of {TARGET_CLAIMS:,} claims (the whole core) in < {seconds:.0f} s; "
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


_DESK_LUA = """
-- The desks of bench/insurance.py: each wrk thread posts its share of the claims (one JSON body
-- a line, in discharge order) over its connections; a desk thinks between two claims.
local threads = %(threads)d
local headers = %(headers)s
local bodies, sent = {}, 0
counts = {}  -- a global: done() reads each thread's with thread:get
local next_id, all = 0, {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(all, thread)
end

function init(args)
  math.randomseed(id + 1)
  local n = 0
  for line in io.lines(%(file)s) do
    if n %% threads == id then bodies[#bodies + 1] = line end
    n = n + 1
  end
end

function request()
  sent = sent + 1
  return wrk.format("POST", "/api/insurance/claims", headers, bodies[(sent - 1) %% #bodies + 1])
end

function response(status, headers, body)
  counts[tostring(status)] = (counts[tostring(status)] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  for _, thread in ipairs(all) do
    for status, n in pairs(thread:get("counts")) do io.write(string.format("STATUS %%s %%d\\n", status, n)) end
  end
end
"""


def _run_desks(
    base: str, headers: dict[str, str], bodies: list[dict[str, Any]], args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """``args.clients`` desks (wrk connections, C: the clients take little of the server's CPU)
    post ``bodies`` for ``args.desk_seconds``; p50/p99/max latency (ms), claims/s, statuses."""
    threads = 2
    lines = workdir / "bodies.jsonl"
    lines.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), encoding="utf-8")
    lua_headers = "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()) + "}"
    script = workdir / "desks.lua"
    script.write_text(
        _DESK_LUA % {"threads": threads, "headers": lua_headers, "file": json.dumps(str(lines))}
        + think_delay(round(args.think * 1000), round(args.jitter * 1000), -(-args.clients // threads)),
        encoding="utf-8",
    )
    command = ["wrk", f"-t{threads}", f"-c{args.clients}", f"-d{args.desk_seconds:g}s", "--timeout", "10s"]
    output = subprocess.run(
        [*command, "-s", str(script), base], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"^RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)$", output, re.M)
    assert found, output
    requests, micros = int(found.group(1)), int(found.group(2))
    statuses: dict[int, int] = {}
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", output, re.M):
        statuses[int(status)] = statuses.get(int(status), 0) + int(n)
    return {
        "claims": requests,
        "per_second": requests / (micros / 1e6),
        "p50": float(found.group(3)),
        "p99": float(found.group(4)),
        "max": float(found.group(5)),
        "statuses": dict(sorted(statuses.items())),
    }


def desk_bench(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from shidian.demo.insurance import generate_insurance_county
    from shidian.insurance.service.datasets import import_insurance_dataset
    from shidian.platform.accounts import create_unit, create_user
    from shidian.platform.db.engine import make_engine, upgrade

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
            base = f"http://127.0.0.1:{port}"
            closed_loop = argparse.Namespace(clients=args.clients, think=0.0, jitter=0.0, desk_seconds=3.0)
            _run_desks(base, headers, bodies[:1_000], closed_loop, Path(tmp))  # warm-up, not measured
            # each part posts claims not posted before (a claim sent again is a cheaper replay)
            cpu_before = cpu_snapshot(server.pid, name)
            desks = _run_desks(base, headers, bodies[1_000:10_000], args, Path(tmp))
            cpu_after = cpu_snapshot(server.pid, name)
            print(
                f"desk, {args.clients} desks, think {args.think:g} s ± {args.jitter:g} s: {desks['claims']:,} "
                f"claims ({desks['per_second']:,.1f}/s), statuses {desks['statuses']}"
            )
            print(
                f"  latency p50 {desks['p50']:.1f} ms, p99 {desks['p99']:.1f} ms, max {desks['max']:.1f} ms"
            )
            worker_ms, database_ms = (
                1000 * used / desks["claims"] for used in cpu_used(cpu_before, cpu_after)
            )
            print(
                f"  CPU a claim: {worker_ms:.2f} ms in the server's processes, {database_ms:.2f} ms in PostgreSQL"
            )
            verdict = "PASS" if desks["p99"] < TARGET_P99_MS else "FAIL"
            print(f"target: p99 < {TARGET_P99_MS:.0f} ms under {args.clients} desks: {verdict}")
            closed_loop.desk_seconds = 15.0
            saturated = _run_desks(base, headers, bodies[10_000:], closed_loop, Path(tmp))
            print(
                f"saturation (information), {args.clients} desks in a closed loop, no think time: "
                f"{saturated['per_second']:,.0f} claims/s, p50 {saturated['p50']:.1f} ms, "
                f"p99 {saturated['p99']:.1f} ms, statuses {saturated['statuses']}"
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
