"""Per-agent baselines of hashsim's daily step, for the benchmark of issue #6.

The same rules as sim/agents/miners.py, written one rig at a time (benchmarks/baselines/rules.py)
and scheduled by a Mesa model (mesa_rigs.py) or by one simpy process per rig (simpy_rigs.py).
The institutions (market, regulator, pools, grid) are hashsim's own, run on its simpy
environment; only the fleet is re-implemented. `run_baseline` times a window of days;
`compare` checks that a baseline and hashsim agree on aggregates.
"""

from benchmarks.baselines.compare import Comparison, compare, compare_runs
from benchmarks.baselines.driver import KINDS, Baseline, run_baseline, run_hashsim

__all__ = ["KINDS", "Baseline", "Comparison", "compare", "compare_runs", "run_baseline",
           "run_hashsim"]
