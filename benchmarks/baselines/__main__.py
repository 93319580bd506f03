"""hashsim against its per-agent baselines, side by side on one world and window.

    python -m benchmarks.baselines [--rigs 100000] [--first-day 88] [--days 10] [--seed 1]
                                   [--kinds mesa simpy] [--repeat 3]

Prints rig·days/s of hashsim's step (best of `--repeat`) and of each baseline (one run), the
speed-ups, and whether each baseline's last-day aggregates agree with hashsim's (one run a
side; see benchmarks/baselines/compare.py).
"""

from __future__ import annotations

import argparse

from benchmarks.baselines.compare import compare_runs
from benchmarks.baselines.driver import KINDS, run_baseline, run_hashsim


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rigs", type=int, default=100_000)
    parser.add_argument("--first-day", type=int, default=88)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="print the aggregates compared")
    args = parser.parse_args()
    runs = [run_hashsim(args.rigs, args.first_day, args.days, args.seed)
            for _ in range(args.repeat)]
    ours = max(runs, key=lambda r: r.rig_days_per_s)
    print(f"{ours.rigs:,} rigs, days {args.first_day}–{args.first_day + args.days - 1}")
    print(f"{'model':>8} {'seconds':>9} {'rig·days/s':>14} {'hashsim ×':>10} {'agrees':>7}")
    print(f"{'hashsim':>8} {ours.seconds:>9.3f} {ours.rig_days_per_s:>14,.0f}")
    for kind in args.kinds:
        run = run_baseline(kind, args.rigs, args.first_day, args.days, args.seed)
        check = compare_runs([run], [ours])
        print(f"{kind:>8} {run.seconds:>9.2f} {run.rig_days_per_s:>14,.0f} "
              f"{ours.rig_days_per_s / run.rig_days_per_s:>10,.0f} {check.ok!s:>7}")
        if args.report or not check.ok:
            print(check.report())


if __name__ == "__main__":
    main()
