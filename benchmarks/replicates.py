"""Replicates per second of the tutorial scenario through `hashsim sweep` (inline and -j N).

    python benchmarks/replicates.py                   # 100 replicates, -j 1 and -j 2
    python benchmarks/replicates.py -n 1000 -j 2      # the issue's figure: 1,000 at -j 2

Each replicate is a full run of scenarios/tutorial.yaml (one simulated year) written as a
shard, then all are combined — the whole sweep path, as a user meets it. The CPU seconds per
replicate (this process and its workers) tell the throughput on idle cores when the machine is
shared: ``jobs / cpu_per_replicate`` replicates per second.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sim.experiments.plan import prepare
from sim.experiments.runner import run_sweep

ROOT = Path(__file__).resolve().parents[1]


def measure(replicates: int, jobs: int, workdir: Path) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its workers) of a sweep of ``replicates``
    tutorial runs with ``jobs`` workers."""
    exp = workdir / f"bench-{jobs}.yaml"
    exp.write_text(f"name: bench\nscenario: {ROOT / 'scenarios' / 'tutorial.yaml'}\n"
                   f"replicates: {replicates}\nseed: 1\n")
    plan = prepare(exp)
    cpu0, started = _cpu(), time.perf_counter()
    report = run_sweep(plan, workdir / f"out-{jobs}", jobs=jobs)  # workers are reaped inside
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu0
    if not report.ok:
        raise SystemExit(f"{len(report.failed)} runs failed: {report.failed[0]['message']}")
    return seconds, cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--replicates", type=int, default=100)
    parser.add_argument("-j", "--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in args.jobs:
            seconds, cpu = measure(args.replicates, jobs, Path(tmp))
            rate = args.replicates / seconds
            print(f"tutorial, {args.replicates} replicates, -j {jobs}: {seconds:.1f} s = "
                  f"{rate:.2f} replicates/s (1,000 replicates ≈ {1000 / rate:.0f} s); "
                  f"{cpu / args.replicates:.3f} CPU s per replicate")


if __name__ == "__main__":
    main()
