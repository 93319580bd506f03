"""hashsim's benchmark: the full daily step at rig resolution against the memory-bandwidth
roofline, china-2021 at rig resolution, and per-agent baselines of the same model.

    python benchmarks/run.py             # 3M rigs; baselines at 100k rigs (a few minutes)
    python benchmarks/run.py --smoke     # small sizes, for CI
    python benchmarks/run.py --scaling   # also: cost per day against rigs, regions, pools, days

Every figure is measured in this run, on this machine, each part in a fresh child process (so
peak RSS is the part's own). The roofline is a STREAM-like triad (a = b + s·c over float64
arrays far larger than the caches, best of 7; numpy makes it two passes, counted as 40 bytes
per element) on one core; the full step is the best of 3 runs, each in its own process, and
the baselines' window is timed on each kind's second run of it in its process. The
step's physical floor is taken as 25 bytes read per rig per day, so the roofline is
bandwidth / 25 B in rig·days/s. Searches of large fleets run compiled where numba is
installed (`pip install -e '.[fast]'`; sim/compiled.py), else in numpy; the table says which.
The last line is machine-readable:

    rig_days_per_s=<n> roofline_pct=<n> vs_mesa=<n>x vs_simpy=<n>x peak_rss_mb=<n>
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BYTES_PER_RIG_DAY = 25.0  # the floor: what a daily step must read per rig
SIZES = {  # full run, smoke run
    "rigs": (3_000_000, 30_000), "days": (365, 60), "china_days": (730, 0),
    "baseline_rigs": (100_000, 10_000), "baseline_days": (3, 3), "triad": (1 << 25, 1 << 22),
    "step_runs": (3, 1),
}
WINDOW_FIRST_DAY = 88  # the baselines' window: the tutorial's ban starts on day 90


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------ parts


def part_triad(n: int) -> dict[str, Any]:
    """Memory bandwidth of one core, GB/s: a = b + s·c, best of 7 passes."""
    import numpy as np

    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - start)
    # the two-pass form moves 5 × 8 bytes per element (c, a written; a, b read; a written)
    return {"gb_per_s": 40.0 * n / best / 1e9}


def part_step(rigs: int, days: int, extra_regions: int = 0, extra_pools: int = 0
              ) -> dict[str, Any]:
    """hashsim's whole run (institutions, daily step, chain, recorder) of the tutorial world
    at rig resolution; the days are timed from the first day's tick to the last one's end."""
    from benchmarks.workloads import tutorial
    from sim.engine import run_replicate
    from sim.state import COLUMNS

    sc = tutorial(rigs, extra_regions=extra_regions, extra_pools=extra_pools, days=days)
    marks: list[float] = []
    start = time.perf_counter()
    _, world = run_replicate(sc, seed=1, on_start=lambda w: marks.append(time.perf_counter()),
                             on_day=lambda d: marks.append(time.perf_counter()))
    wall = time.perf_counter() - start
    stepped = marks[-1] - marks[0]
    n = int(world.fleet.count.sum())
    hot = sum(__import__("numpy").dtype(t).itemsize for t in COLUMNS.values())
    return {"rigs": n, "days": sc.num_days, "wall_s": wall, "setup_s": marks[0] - start,
            "rig_days_per_s": n * sc.num_days / stepped, "ms_per_day": 1e3 * stepped / days,
            "bytes_per_rig": hot, "rows": world.fleet.size, "groups": world.fleet.num_groups,
            "peak_rss_mb": peak_rss_mb()}


def part_china(days: int, rigs: int | None = None) -> dict[str, Any]:
    """`hashsim run` of china-2021 at rig resolution for `days` days, as a user runs it
    (load, simulate, write the result files), wall seconds: with its own rigs, or scaled to
    `rigs` with every capacity alike (benchmarks/workloads.py)."""
    import tempfile

    from benchmarks.workloads import china
    from sim.results import run

    sc = china(rigs=rigs, days=days)
    start = time.perf_counter()
    res = run(sc, seed=1, replicates=1)
    with tempfile.TemporaryDirectory() as tmp:
        res.write(Path(tmp) / "out")
    return {"rigs": sum(f.rigs for f in sc.fleet), "days": sc.num_days,
            "wall_s": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def part_baseline(kind: str, rigs: int, days: int) -> dict[str, Any]:
    """A per-agent baseline (or hashsim itself) on the same world and window: the second of
    two runs, as each kind's first run in a process pays its one-time costs (imports,
    caches, first calls), which a run of a whole year pays once."""
    from benchmarks.baselines.driver import run_baseline, run_hashsim

    for _ in range(2):
        if kind == "hashsim":
            result = run_hashsim(rigs, WINDOW_FIRST_DAY, days, seed=1)
        else:
            result = run_baseline(kind, rigs, WINDOW_FIRST_DAY, days, seed=1)
    return {"kind": kind, "rigs": result.rigs, "days": days,
            "rig_days_per_s": result.rig_days_per_s}


PARTS = {"triad": part_triad, "step": part_step, "china": part_china,
         "baseline": part_baseline}


def child(part: str, **kwargs: Any) -> dict[str, Any]:
    """Run one part in a fresh interpreter pinned to one core; its JSON answer."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--part", part, json.dumps(kwargs)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"benchmark part {part} {kwargs} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------------------------ main


def mesa_available() -> bool:
    try:
        import mesa  # noqa: F401
    except ImportError:
        return False
    return True


def scaling(rows: list[tuple[str, str]]) -> None:
    """Cost per day against each size in turn, the others held (tutorial world)."""
    print("\nscaling (ms per simulated day; tutorial world, rig resolution)")
    print(f"{'varied':<10}{'value':>12}{'rigs':>12}{'groups':>8}{'ms/day':>10}{'M rig·d/s':>11}")
    cases: list[tuple[str, int, dict[str, int]]] = []
    cases += [("rigs", r, {"rigs": r}) for r in (30_000, 100_000, 300_000, 1_000_000, 3_000_000)]
    cases += [("regions", k, {"rigs": 300_000, "extra_regions": k}) for k in (0, 8, 32, 128)]
    cases += [("pools", k, {"rigs": 300_000, "extra_pools": k}) for k in (0, 8, 32, 128)]
    cases += [("days", d, {"rigs": 300_000, "days": d}) for d in (91, 182, 365)]
    for varied, value, kw in cases:
        kw.setdefault("days", 365)
        r = child("step", **kw)
        print(f"{varied:<10}{value:>12,}{r['rigs']:>12,}{r['groups']:>8}{r['ms_per_day']:>10.2f}"
              f"{r['rig_days_per_s'] / 1e6:>11.1f}")
        rows.append((varied, json.dumps({"value": value, **r})))


def _passes() -> str:
    from sim import compiled

    if compiled.enabled():
        import numba

        return f"numba {numba.__version__}"
    return "numpy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    parser.add_argument("--scaling", action="store_true", help="also measure how cost grows")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](**json.loads(args.args or "{}"))))
        return
    size = {k: v[1 if args.smoke else 0] for k, v in SIZES.items()}
    triad = child("triad", n=size["triad"])
    roofline = triad["gb_per_s"] * 1e9 / BYTES_PER_RIG_DAY
    # the best of a few runs, as the triad is the best of its passes (the machine is shared)
    step = max((child("step", rigs=size["rigs"], days=size["days"])
                for _ in range(size["step_runs"])), key=lambda r: r["rig_days_per_s"])
    pct = 100.0 * step["rig_days_per_s"] / roofline
    print(f"{'measure':<58}{'value':>22}")
    print(f"{'searches of large fleets (sim/compiled.py)':<58}{_passes():>22}")
    print(f"{'memory bandwidth, one core (triad)':<58}{triad['gb_per_s']:>17.1f} GB/s")
    print(f"{'roofline at 25 B per rig·day':<58}{roofline / 1e6:>12,.0f} M rig·d/s")
    label = f"hashsim full step, {step['rigs']:,} rigs × {step['days']} days"
    print(f"{label:<58}{step['rig_days_per_s'] / 1e6:>12,.0f} M rig·d/s")
    print(f"{'  share of the roofline':<58}{pct:>20.1f} %")
    print(f"{'  per simulated day':<58}{step['ms_per_day']:>19.2f} ms")
    print(f"{'  hot state (fleet columns)':<58}{step['bytes_per_rig']:>16} B/rig")
    print(f"{'  peak RSS':<58}{step['peak_rss_mb']:>19,.0f} MB")
    if size["china_days"]:
        for rigs in (3_000_000, None):  # the size (capacities scaled alike), its own
            ch = child("china", days=size["china_days"], rigs=rigs)
            label = (f"hashsim run china-2021, rig resolution, {ch['rigs']:,} rigs × "
                     f"{ch['days']} d")
            print(f"{label:<58}{ch['wall_s']:>20.1f} s")
            print(f"{'  peak RSS':<58}{ch['peak_rss_mb']:>19,.0f} MB")
    kinds = ["hashsim", "simpy"] + (["mesa"] if mesa_available() else [])
    # hashsim's window lasts milliseconds: the best of a few runs, as for the full step (the
    # baselines take seconds, and one run each); every kind is timed on its second run of the
    # window in its process (part_baseline)
    rates = {k: max(child("baseline", kind=k, rigs=size["baseline_rigs"],
                          days=size["baseline_days"])["rig_days_per_s"]
                    for _ in range(size["step_runs"] if k == "hashsim" else 1))
             for k in kinds}
    window = f"{size['baseline_rigs']:,} rigs, days {WINDOW_FIRST_DAY}–" \
             f"{WINDOW_FIRST_DAY + size['baseline_days'] - 1}"
    for k in kinds:
        print(f"{f'{k} on the same window ({window})':<58}{rates[k] / 1e3:>12,.0f} k rig·d/s")
    vs = {k: rates["hashsim"] / rates[k] for k in kinds if k != "hashsim"}
    for k, ratio in vs.items():
        print(f"{f'  hashsim ÷ {k} per rig':<58}{ratio:>21,.0f}×")
    # what the ratios could reach if the per-rig part of hashsim's day cost nothing: its day
    # at a tenth of the rigs is (almost) all the fixed cost of a day's calls
    few = size["baseline_rigs"] // 10
    small = max((child("baseline", kind="hashsim", rigs=few, days=size["baseline_days"])
                 for _ in range(size["step_runs"])), key=lambda r: r["rig_days_per_s"])
    fixed_ms = 1e3 * small["rigs"] / small["rig_days_per_s"]
    label = f"hashsim on the same window at {small['rigs']:,} rigs"
    print(f"{label:<58}{fixed_ms:>16.2f} ms/day")
    for k in vs:
        ceiling = size["baseline_rigs"] / (fixed_ms / 1e3) / rates[k]
        label = f"  ceiling of hashsim ÷ {k} (that day at {size['baseline_rigs']:,} rigs)"
        print(f"{label:<58}{ceiling:>21,.0f}×")
    if args.scaling:
        scaling([])
    mesa = f"{vs['mesa']:.0f}" if "mesa" in vs else "nan"
    print(f"rig_days_per_s={step['rig_days_per_s']:.0f} roofline_pct={pct:.1f} "
          f"vs_mesa={mesa}x vs_simpy={vs['simpy']:.0f}x peak_rss_mb={step['peak_rss_mb']:.0f}")


if __name__ == "__main__":
    main()
