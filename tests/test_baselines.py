"""The per-agent baselines of the benchmark (issue #6) follow hashsim's rules: on a small world
their aggregates agree with hashsim's within binomial noise (benchmarks/baselines/compare.py),
and the check notices a baseline that breaks a rule."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from benchmarks.baselines import compare, rules, run_baseline

RIGS = 2_000
SEEDS = (1, 2, 3)
#: Day 88: the announcement's exits, then the ban's ramp from day 90 (enforcement, decisions,
#: shipping). Day 148: the power cut-off in force, the pool ban of day 151 (pools' departures,
#: stranded miners), the ban at full strength.
WINDOWS = [(88, 8), (148, 8)]

needs_mesa = pytest.mark.skipif(importlib.util.find_spec("mesa") is None,
                                reason="mesa is not installed (the benchmark extra)")


@pytest.mark.parametrize(("first_day", "days"), WINDOWS)
def test_simpy_baseline_agrees_with_hashsim(first_day: int, days: int) -> None:
    result = compare("simpy", RIGS, first_day, days, SEEDS)
    assert result.ok, result.report()


@needs_mesa
@pytest.mark.parametrize(("first_day", "days"), WINDOWS)
def test_mesa_baseline_agrees_with_hashsim(first_day: int, days: int) -> None:
    result = compare("mesa", RIGS, first_day, days, SEEDS)
    assert result.ok, result.report()


@needs_mesa
def test_both_baselines_conserve_rigs_and_agree_with_each_other() -> None:
    # Rigs in transit wake in a different order in the two (a simpy process sleeps until its
    # arrival), so the same seed no longer gives the same fates once rigs relocate: the two
    # are compared as two samples, like each of them with hashsim.
    from benchmarks.baselines import compare_runs

    mesa, simpy = (run_baseline(kind, RIGS, 148, 4, seed=7) for kind in ("mesa", "simpy"))
    assert mesa.statuses.shape == (4, 7)
    assert np.all(mesa.statuses.sum(axis=1) == mesa.rigs)
    assert np.all(simpy.statuses.sum(axis=1) == simpy.rigs)
    assert mesa.seconds > 0 and mesa.rig_days_per_s > 0
    result = compare_runs([mesa], [simpy])
    assert result.ok, result.report()


def test_the_check_catches_a_baseline_without_enforcement(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(rules, "enforce", lambda rig, today, rng: None)
    result = compare("simpy", RIGS, 148, 8, SEEDS)
    assert not result.ok
