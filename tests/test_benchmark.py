"""The benchmark runs end to end at small size (CI smoke). Only ratios measured in the same run
are checked — hashsim against the naive per-rig references of the same model — never an
absolute time: the machines are shared and noisy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_LINE = re.compile(r"rig_days_per_s=(\d+) roofline_pct=([\d.]+) vs_mesa=(\S+)x "
                       r"vs_simpy=(\d+)x peak_rss_mb=(\d+)")


def test_smoke_run_prints_its_table_and_beats_the_per_rig_references() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    rate, pct, vs_mesa, vs_simpy, rss = match.groups()
    assert int(rate) > 0 and float(pct) > 0 and int(rss) > 0
    # Even at 2,000 rigs over 3 days, vectorised cohorts beat one Python object per rig.
    assert int(vs_simpy) >= 2, out.stdout
    if vs_mesa != "nan":
        assert float(vs_mesa) >= 2, out.stdout
    assert "roofline" in out.stdout and "hot state" in out.stdout
