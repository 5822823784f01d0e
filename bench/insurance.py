"""Benchmark: resident-insurance claims per second for a county-year batch.

Generates a demo county in memory (not timed) with enough persons for ``--claims`` claims,
then times, each the best of ``--repeat`` runs,

* ``price_claims``: the pricing core the batch and the discharge desk share (frame, deductibles,
  caps, the rule trail) — the number the target is about;
* ``reimburse``: the whole core of a batch (validation, pricing, ledger, statements, notices,
  health checks, invariants), without reading or writing files.

Prints claims per second and PASS/FAIL against the target (2,000,000 claims in under 10 s).
Never asserts: the exit status is 0 unless the arguments are wrong. The discharge-desk latency
(p50/p99 under 50 concurrent clients) belongs to the web app's bench.

Usage: ``.venv/bin/python bench/insurance.py [--claims 2000000] [--repeat 2] [--seed 2010]``
"""

from __future__ import annotations

import argparse
import time

from shidian.demo.insurance import build_county
from shidian.insurance.batch import reimburse
from shidian.insurance.claims import price_claims
from shidian.insurance.model import InsuranceInputs
from shidian.insurance.policy import parse_insurance_policy
from shidian.policy import read_reference_policy

TARGET_CLAIMS = 2_000_000
TARGET_SECONDS = 10.0
CLAIMS_PER_PERSON = 2.2  # a little under what the demo county draws, so the batch has the target size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=TARGET_CLAIMS, help="about this many claims")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=2010)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
