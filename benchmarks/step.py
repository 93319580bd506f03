"""Throughput of the daily step in rig·days per second, at 100k and 3M single-rig rows.

    python benchmarks/step.py [--rigs 100000 3000000] [--days 20]

It builds the tutorial world in rig resolution with its fleet scaled to the given number of
rigs, runs the scenario's first days (no policy yet: the plain economics, switching,
aggregation and recording) and then days under the ban (enforcement, decisions, shipping), and
prints rig·days/s for each phase. Figures are measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.agents.miners import daily_step, mining_hashrate
from sim.engine import start_world
from sim.recorder import Recorder
from sim.validation import load

TUTORIAL = Path(__file__).resolve().parents[1] / "scenarios" / "tutorial.yaml"


def scaled(rigs: int):  # type: ignore[no-untyped-def]
    sc = load(TUTORIAL)
    total = sum(f.rigs for f in sc.fleet)
    fleet = [f.model_copy(update={"rigs": max(1, round(f.rigs * rigs / total))})
             for f in sc.fleet]
    return sc.model_copy(update={"fleet": fleet, "resolution": "rig", "purchases": []})


def measure(rigs: int, days: int, first_day: int) -> float:
    sc = scaled(rigs)
    env, world = start_world(sc, seed=1, replicate=0)
    recorder = Recorder(world)
    env.run(until=first_day + 0.5)  # institutions apply the policies due by then
    n = int(world.fleet.count.sum())
    start = time.perf_counter()
    for day in range(first_day, first_day + days):
        world.day = day
        econ = daily_step(world)
        hashrate = mining_hashrate(world)
        recorder.record(day, econ, hashrate, np.zeros(1, dtype=np.int64), np.zeros(1))
    return n * days / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rigs", type=int, nargs="+", default=[100_000, 3_000_000])
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    print(f"{'rigs':>10} {'phase':>12} {'rig·days/s':>14}")
    for rigs in args.rigs:
        for phase, first in (("before ban", 10), ("under ban", 100)):
            rate = measure(rigs, args.days, first)
            print(f"{rigs:>10,} {phase:>12} {rate:>14,.0f}")


if __name__ == "__main__":
    main()
