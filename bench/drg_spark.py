"""Benchmark: the DRG settlement (or the insurance batch) on DuckDB and on Spark local (issue 21; docs/scale.md).

Generates a synthetic region of ``--cases`` cases (default 10,000,000; not timed, cached under
``--workdir`` like ``bench/drg_settle.py``), then runs, each in its own child process,

* ``shidian drg settle DATA --out OUT --engine duckdb --no-report-cases``;
* ``shidian drg settle DATA --out OUT --engine spark --spark-master local[*] --no-report-cases``,
  with ``--driver-memory`` for the JVM (``spark.driver.memory``);

and prints each one's wall time and peak memory (the summed RSS of the child's whole process
tree, sampled every 0.2 s, so the Spark JVM is counted), the Spark/DuckDB time ratio, and
whether every output file is byte-identical. Never asserts on time; not run by the tests.

``--batch insurance`` does the same for ``shidian insurance reimburse`` on a generated county of
``--persons`` insured (default 1,000,000: about 2.2 million claims), every output file compared.

Usage: ``.venv/bin/python bench/drg_spark.py [--cases 10000000] [--hospitals 120]``
``[--batch insurance --persons 1000000]``
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drg_settle import REPO, ensure_region

PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            rss[int(entry)] = int(stat[21]) * PAGE
            children.setdefault(int(stat[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def run(command: list[str], out: Path) -> tuple[bool, float, float]:
    """(ok, seconds, peak GiB) of one child process tree."""
    shutil.rmtree(out, ignore_errors=True)
    log = out.with_name(out.name + ".log")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with log.open("wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        peak = 0
        while child.poll() is None:
            peak = max(peak, tree_rss(child.pid))
            time.sleep(0.2)
        seconds = time.perf_counter() - started
    if child.returncode:
        print(f"   exit {child.returncode}, see {log}")
    return child.returncode == 0, seconds, peak / 1024**3


def ensure_county(workdir: Path, persons: int, seed: int) -> Path:
    """A generated county of ``persons`` insured under ``workdir`` (generated once, then reused)."""
    folder = workdir / f"insurance-{persons}-{seed}"
    if not (folder / "claims.csv").is_file():
        from shidian.demo.insurance import generate_insurance_county

        generate_insurance_county(folder, persons=persons, seed=seed, year=2010)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--hospitals", type=int, default=120)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--policy", default="guigang-2020")
    parser.add_argument("--spark-master", default="local[*]")
    parser.add_argument(
        "--driver-memory", default="8g", help="spark.driver.memory (local mode: all of Spark)"
    )
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument(
        "--batch",
        choices=("drg", "insurance"),
        default="drg",
        help="drg: the DRG settlement of --cases cases; insurance: the resident-insurance batch of a "
        "county of --persons insured (about 2.2 claims each)",
    )
    parser.add_argument(
        "--persons", type=int, default=1_000_000, help="insured of the county (--batch insurance)"
    )
    args = parser.parse_args(argv)
    python = sys.executable
    if args.batch == "insurance":
        data = ensure_county(args.workdir, args.persons, args.seed)
        base = [python, "-c", "from shidian.cli import main; main()", "insurance", "reimburse", str(data)]
        size = f"insurance-{args.persons}"
    else:
        data = ensure_region(args.workdir, args.cases, args.hospitals, args.seed)
        base = [python, "-c", "from shidian.cli import main; main()", "drg", "settle", str(data)]
        base += ["--policy", args.policy, "--no-report-cases"]
        size = str(args.cases)
    out = {engine: args.workdir / f"out-{size}-{engine}" for engine in ("duckdb", "spark")}
    results = {}
    for engine in ("duckdb", "spark"):
        command = [*base, "--out", str(out[engine]), "--engine", engine]
        if engine == "spark":
            command += ["--spark-master", args.spark_master]
            os.environ["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {args.driver_memory} pyspark-shell"
        print(f"{engine}: {' '.join(command[3:])}", flush=True)
        results[engine] = run(command, out[engine])
        ok, seconds, peak = results[engine]
        print(f"   {'ok' if ok else 'FAILED'} {seconds:.1f} s, peak {peak:.2f} GiB", flush=True)
    (ok_d, t_d, m_d), (ok_s, t_s, m_s) = results["duckdb"], results["spark"]
    if args.batch == "insurance":
        print(f"\nresident insurance: a county of {args.persons:,} insured, county-2010")
    else:
        print(f"\n{args.cases:,} cases, {args.hospitals} hospitals, {args.policy}")
    print(f"DuckDB {t_d:.1f} s, {m_d:.2f} GiB; Spark ({args.spark_master}) {t_s:.1f} s, {m_s:.2f} GiB")
    if ok_d and ok_s:
        print(f"Spark / DuckDB time: {t_s / t_d:.2f}; memory: {m_s / m_d:.2f}")
        names = sorted(str(p.relative_to(out["duckdb"])) for p in out["duckdb"].rglob("*") if p.is_file())
        same = [n for n in names if filecmp.cmp(out["duckdb"] / n, out["spark"] / n, shallow=False)]
        print(
            f"byte-identical outputs: {len(same)} of {len(names)}"
            + (
                ""
                if len(same) == len(names)
                else f" (different: {', '.join(sorted(set(names) - set(same)))})"
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
