"""Benchmark: DRG settlement, engine vs. a plain pandas implementation (speed, memory, agreement).

For each size: generate a synthetic region (not timed; cached per size, hospitals and seed
under ``--workdir``), then run, each in its own child process so that time and peak memory
belong to that run alone,

* the engine end-to-end, the default command (every output a user gets: CSV, Parquet,
  report.xlsx, the hospital workbooks): ``shidian drg settle DATA --out OUT --policy
  guigang-2020``;
* the pandas reference end-to-end: ``python bench/pandas_drg.py DATA OUT`` (exact rounding,
  writes its four CSV results);
* the lean pandas script: ``python bench/pandas_drg.py DATA OUT --lean`` (reads the CSVs and
  computes the settlement in floats, nothing else);
* the floor: pyarrow reading ``cases.csv`` alone, typed, on every core, and nothing else. No
  settlement that reads the CSV can be faster; at 10,000,000 cases it shows how much of the
  10-second target the reading alone takes on this machine.

Peak memory is the child's ``ru_maxrss`` from ``os.wait4`` (the child and its waited-for
descendants), not ``RUSAGE_CHILDREN``, which keeps the maximum over every child so far.
When both ran, the outputs are compared: per-case category and ``final_points``, per-month
point values, per-hospital ``settlement``. Prints a table and the targets; never asserts on
time (the exit status is 0 unless the arguments are wrong).

Usage: ``.venv/bin/python bench/drg_settle.py [--cases 1000000 10000000] [--hospitals 120]``
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
PANDAS_SCRIPT = Path(__file__).resolve().parent / "pandas_drg.py"
GIB_PER_KIB = 1024**2
POINTS_TOLERANCE = 1e-6
MONEY_TOLERANCE = 0.01  # yuan, plus MONEY_RELATIVE × |value|
MONEY_RELATIVE = 1e-9
POINT_VALUE_TOLERANCE = 1e-7
#: The floor: the fastest read of the cases there is here (pyarrow's multi-threaded CSV reader,
#: types inferred), no validation, no settlement, no output.
FLOOR_SCRIPT = "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])"


@dataclass
class Run:
    """One timed child process: wall seconds, peak RSS, exit code, log file."""

    ok: bool
    seconds: float
    peak_gib: float
    exit_code: int
    log: str
    note: str = ""
    cpu_seconds: float = 0.0  # user + system: less sensitive than wall time to a busy host


@dataclass
class SizeResult:
    """Both runs for one size and, when both succeeded, their disagreement counts."""

    cases: int
    engine: Run
    pandas: Run | None
    agreement: dict[str, str] | None
    lean: Run | None = None
    floor: Run | None = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--hospitals", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--workdir", type=Path, default=Path("var/bench"))
    parser.add_argument("--skip-pandas-above", type=int, default=2_000_000, metavar="N")
    parser.add_argument(
        "--engine",
        default=str(Path(sys.executable).with_name("shidian")),
        help="engine command (shell words), default: the shidian script next to this Python",
    )
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()  # children run in the repository root
    args.workdir.mkdir(parents=True, exist_ok=True)

    rows: list[SizeResult] = []
    for cases in args.cases:
        data = ensure_region(args.workdir, cases, args.hospitals, args.seed)
        print(f"== {cases:,} cases, {args.hospitals} hospitals, seed {args.seed}: {data}", flush=True)
        engine_out = args.workdir / f"out-engine-{cases}"
        engine = timed(
            [
                *shlex.split(args.engine),
                "drg",
                "settle",
                str(data),
                "--out",
                str(engine_out),
                "--policy",
                "guigang-2020",
            ],
            engine_out,
        )
        print(f"   engine: {describe(engine)}", flush=True)
        pandas_run: Run | None = None
        lean_run: Run | None = None
        if cases <= args.skip_pandas_above:
            lean_out = args.workdir / f"out-lean-{cases}"
            lean_run = timed(
                [sys.executable, str(PANDAS_SCRIPT), str(data), str(lean_out), "--lean"], lean_out
            )
            print(f"   lean pandas: {describe(lean_run)}", flush=True)
            pandas_out = args.workdir / f"out-pandas-{cases}"
            pandas_run = timed([sys.executable, str(PANDAS_SCRIPT), str(data), str(pandas_out)], pandas_out)
            print(f"   pandas: {describe(pandas_run)}", flush=True)
        else:
            print(f"   pandas: skipped (more than --skip-pandas-above {args.skip_pandas_above:,} cases)")
        floor_out = args.workdir / f"out-floor-{cases}"
        floor = timed([sys.executable, "-c", FLOOR_SCRIPT, str(data / "cases.csv")], floor_out)
        print(f"   floor (pyarrow reads cases.csv, typed, nothing else): {describe(floor)}", flush=True)
        agreement = None
        if engine.ok and pandas_run is not None and pandas_run.ok:
            agreement = compare(engine_out, args.workdir / f"out-pandas-{cases}")
            print("   cross-check: " + ", ".join(f"{k} {v}" for k, v in agreement.items()), flush=True)
        rows.append(SizeResult(cases, engine, pandas_run, agreement, lean_run, floor))

    print()
    print_table(rows)
    print()
    for line in targets(rows):
        print(line)
    (args.workdir / "results.json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False) + "\n"
    )
    return 0


def ensure_region(workdir: Path, cases: int, hospitals: int, seed: int) -> Path:
    """The generated region for this size and seed, generating it once (not timed)."""
    data = workdir / f"region-{cases}-h{hospitals}-s{seed}"
    marker = data / ".generated.json"
    if marker.exists():
        return data
    try:
        from shidian.demo.drg import generate_drg_region
    except ImportError:  # not installed: use the source tree
        sys.path.insert(0, str(REPO / "src"))
        from shidian.demo.drg import generate_drg_region
    started = time.perf_counter()
    counts = generate_drg_region(data, cases=cases, hospitals=hospitals, seed=seed)
    seconds = time.perf_counter() - started
    print(f"   generated {cases:,} cases in {seconds:.1f} s (not timed below)", flush=True)
    marker.write_text(json.dumps({"rows": counts, "seconds": round(seconds, 2)}) + "\n")
    return data


def timed(command: list[str], out_dir: Path) -> Run:
    """Run ``command`` in a fresh child with a clean ``out_dir``; wall time and peak RSS."""
    shutil.rmtree(out_dir, ignore_errors=True)
    log = out_dir.with_name(out_dir.name + ".log")
    with log.open("wb") as sink:
        started = time.perf_counter()
        try:
            child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
        except OSError as exc:
            hint = " (run `make install` to get .venv/bin/shidian)" if command[0].endswith("shidian") else ""
            return Run(False, 0.0, 0.0, -1, str(log), f"cannot start {command[0]}: {exc.strerror}{hint}")
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = exit_code = os.waitstatus_to_exitcode(status)
    note = "" if exit_code == 0 else f"exit {exit_code}, see {log}"
    cpu = usage.ru_utime + usage.ru_stime
    return Run(exit_code == 0, seconds, usage.ru_maxrss / GIB_PER_KIB, exit_code, str(log), note, cpu)


def describe(run: Run) -> str:
    if not run.ok:
        return f"FAILED ({run.note})"
    return f"{run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), peak {run.peak_gib:.2f} GiB"


def compare(engine_out: Path, pandas_out: Path) -> dict[str, str]:
    """Count disagreements between the two implementations' outputs."""
    found: dict[str, str] = {}
    cols = ["case_id", "category", "final_points"]
    a = pd.read_csv(engine_out / "case_points.csv", usecols=cols, dtype={"case_id": str})
    b = pd.read_csv(pandas_out / "case_points.csv", usecols=cols, dtype={"case_id": str})
    both = a.merge(b, on="case_id", how="outer", suffixes=("_engine", "_pandas"), indicator=True)
    found["cases missing on one side"] = str(int((both["_merge"] != "both").sum()))
    found["category mismatches"] = str(int((both["category_engine"] != both["category_pandas"]).sum()))
    diff = (both["final_points_engine"] - both["final_points_pandas"]).abs()
    found["final_points mismatches"] = f"{int((diff > POINTS_TOLERANCE).sum())} (max |Δ| {diff.max():.2g})"

    cols = ["hospital_id", "month", "amount"]
    a = pd.read_csv(engine_out / "monthly_payments.csv", usecols=cols, dtype={"hospital_id": str})
    b = pd.read_csv(pandas_out / "monthly_payments.csv", usecols=cols, dtype={"hospital_id": str})
    both = a.merge(b, on=["hospital_id", "month"], how="outer", suffixes=("_engine", "_pandas"))
    diff = (both["amount_engine"] - both["amount_pandas"]).abs()
    allowed = MONEY_TOLERANCE + MONEY_RELATIVE * both["amount_engine"].abs()
    found["monthly amount mismatches"] = (
        f"{int((~(diff <= allowed)).sum())}, off by a fen {int((diff > 0.005).sum())} of {len(both)} hospital-months"
    )

    a = pd.read_csv(engine_out / "monthly.csv", usecols=["month", "point_value"])
    b = pd.read_csv(pandas_out / "monthly.csv", usecols=["month", "point_value"])
    both = a.merge(b, on="month", how="outer", suffixes=("_engine", "_pandas"))
    diff = (both["point_value_engine"] - both["point_value_pandas"]).abs()
    found["point_value mismatches"] = f"{int((~(diff <= POINT_VALUE_TOLERANCE)).sum())} of {len(both)} months"

    cols = ["hospital_id", "settlement"]
    a = pd.read_csv(engine_out / "annual.csv", usecols=cols, dtype={"hospital_id": str})
    b = pd.read_csv(pandas_out / "annual.csv", usecols=cols, dtype={"hospital_id": str})
    both = a.merge(b, on="hospital_id", how="outer", suffixes=("_engine", "_pandas"))
    diff = (both["settlement_engine"] - both["settlement_pandas"]).abs()
    allowed = MONEY_TOLERANCE + MONEY_RELATIVE * both["settlement_engine"].abs()
    bad = int((~(diff <= allowed)).sum())
    found["settlement mismatches"] = f"{bad} of {len(both)} hospitals (max |Δ| {diff.max():.2f} yuan)"
    return found


def print_table(rows: list[SizeResult]) -> None:
    print(
        f"{'cases':>12} {'engine s':>10} {'engine GiB':>11} {'pandas s':>10} {'pandas GiB':>11} {'engine/pandas':>14}"
        f" {'lean s':>8} {'engine/lean':>12} {'floor s':>8}"
    )
    for row in rows:
        e_s, e_g = _cells(row.engine)
        p_s, p_g = _cells(row.pandas) if row.pandas else ("skipped", "-")
        ratio = _ratio(row)
        l_s = _cells(row.lean)[0] if row.lean else "skipped"
        lean = (
            f"{row.engine.seconds / row.lean.seconds:.2f}"
            if row.lean and row.lean.ok and row.engine.ok
            else "-"
        )
        f_s = _cells(row.floor)[0] if row.floor else "-"
        print(
            f"{row.cases:>12,} {e_s:>10} {e_g:>11} {p_s:>10} {p_g:>11} {ratio if ratio else '-':>14}"
            f" {l_s:>8} {lean:>12} {f_s:>8}"
        )


def _cells(run: Run) -> tuple[str, str]:
    return (f"{run.seconds:.1f}", f"{run.peak_gib:.2f}") if run.ok else ("failed", "-")


def _ratio(row: SizeResult) -> str:
    if row.engine.ok and row.pandas is not None and row.pandas.ok:
        return f"{row.engine.seconds / row.pandas.seconds:.2f}"
    return ""


def targets(rows: list[SizeResult]) -> list[str]:
    """The two targets: PASS / FAIL, or n/a when a size (or its pandas run) did not run."""
    by_size = {row.cases: row for row in rows}
    row = by_size.get(1_000_000)
    if row is None:
        speed = "n/a (1,000,000 cases not run)"
    elif not row.engine.ok:
        speed = "FAIL (engine did not complete)"
    elif row.pandas is None or not row.pandas.ok:
        speed = "n/a (pandas did not run)"
    else:
        ratio = row.engine.seconds / row.pandas.seconds
        speed = f"{'PASS' if ratio <= 0.5 else 'FAIL'} (ratio {ratio:.2f})"
    row = by_size.get(10_000_000)
    if row is None:
        memory = "n/a (10,000,000 cases not run)"
    elif not row.engine.ok:
        memory = "FAIL (engine did not complete)"
    else:
        memory = f"{'PASS' if row.engine.peak_gib <= 12 else 'FAIL'} (peak {row.engine.peak_gib:.2f} GiB)"
    row = by_size.get(1_000_000)
    if row is None or row.lean is None or not row.lean.ok or not row.engine.ok:
        lean = "n/a (1,000,000 cases, engine or lean pandas not run)"
    else:
        ratio = row.engine.seconds / row.lean.seconds
        lean = f"{'PASS' if ratio <= 1.0 else 'FAIL'} (ratio {ratio:.2f})"
    row = by_size.get(10_000_000)
    if row is None:
        ten = "n/a (10,000,000 cases not run)"
    elif not row.engine.ok:
        ten = "FAIL (engine did not complete)"
    else:
        ten = f"{'PASS' if row.engine.seconds <= 10 else 'FAIL'} ({row.engine.seconds:.1f} s)"
        if row.floor is not None and row.floor.ok:
            ten += f"; reading cases.csv alone takes {row.floor.seconds:.1f} s here"
    return [
        f"1M: engine (default command) ≤ 0.5 × pandas with outputs: {speed}",
        f"1M: engine (default command) ≤ 1.0 × lean pandas (read + float settlement): {lean}",
        f"10M: engine ≤ 10 s: {ten}",
        f"10M: engine peak ≤ 12 GiB: {memory}",
    ]


if __name__ == "__main__":
    sys.exit(main())
