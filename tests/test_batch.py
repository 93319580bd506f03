"""A batch world (sim/batch.py) gives each replicate exactly the tables it gets alone."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import scenario_of, worlds

import sim
from sim.batch import SEP, run_batch, stack
from sim.engine import run_replicate


def _same(alone: dict[str, pd.DataFrame], batched: dict[str, pd.DataFrame]) -> None:
    assert set(alone) == set(batched)
    for name, df in alone.items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), batched[name],
                                      check_exact=True, obj=name)


@pytest.mark.parametrize(("name", "overrides"), [
    ("tutorial", []),
    ("tutorial", ["policies.ban.expected_days=60", "behaviour.decision_rate_per_day=1",
                  "regions.highland.electricity_schedule=[{date: 2021-06-01, usd_per_kwh: 0.2},"
                  " {date: 2021-08-01, surcharge_usd_per_kwh: 0.01}]"]),
    ("wuhan-general-2018", []),
    ("sparkpool-2021", []),
    ("china-2021", ["end=2021-07-15"]),  # the ban, the pools' exits, the first moves
    # a ban with an announced end: waiting, hiding, selling and leaving, then the lift
    ("iran-2021", ["end=2021-10-01"]),
])
def test_each_copy_of_a_batch_is_its_replicate_alone(name: str, overrides: list[str]) -> None:
    sc = sim.load(name, overrides)
    replicates = [2, 0, 5]  # any replicates, in any order
    for rep, batched in zip(replicates, run_batch(sc, 11, replicates), strict=True):
        alone, _ = run_replicate(sc, 11, rep)
        _same(alone, batched)


def test_a_replicate_is_the_same_in_any_batch() -> None:
    sc = sim.load("tutorial", ["end=2021-06-30"])
    (small,) = run_batch(sc, 3, [4])
    big = run_batch(sc, 3, [7, 4, 1, 9])
    _same(small, big[1])


def test_a_sample_has_its_own_streams() -> None:
    sc = sim.load("tutorial", ["end=2021-05-31"])
    (mine,) = run_batch(sc, 3, [1], sample=2)
    alone, _ = run_replicate(sc, 3, 1, sample=2)
    _same(alone, mine)
    other, _ = run_replicate(sc, 3, 1, sample=3)
    assert not other["flows"].equals(mine["flows"])


def test_stacking_renames_every_copy_apart() -> None:
    sc = sim.load("china-2021")
    st = stack(sc, 3)
    assert len(st.regions) == 3 * len(sc.regions) and len(st.policies) == 3 * len(sc.policies)
    assert {r.name.split(SEP)[1] for r in st.regions} == {"0", "1", "2"}
    assert st.observed is None
    with pytest.raises(ValueError, match="cohort"):
        stack(sim.load("tutorial", ["resolution=rig"]), 2)


# ---------------------------------------------------------------------------- in a sweep

def _tasks(tmp_path, replicates: int = 5, extra: str = ""):  # type: ignore[no-untyped-def]
    from sim.experiments.plan import prepare

    exp = tmp_path / "b.yaml"
    exp.write_text(f"name: b\nscenario: {sim.bundled.resolve('tutorial')}\n"
                   f"replicates: {replicates}\nseed: 4\n{extra}")
    return prepare(exp, ["end=2021-05-15"])


def test_a_sweep_gives_the_same_tables_whatever_the_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sim.experiments.runner import run_sweep

    plan = _tasks(tmp_path, 5, "arms:\n  a: {}\n  b: {set: {policies: []}}\n")
    tables = {}
    for size in (1, 2, 5):
        out = tmp_path / f"out{size}"
        assert run_sweep(plan, out, jobs=1, batch=size).ok
        tables[size] = {name: (out / f"{name}.csv").read_bytes()
                        for name in ("network", "regions", "flows", "events", "summary")}
    assert tables[1] == tables[2] == tables[5]


def test_batches_group_replicates_of_one_point_and_arm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from sim.experiments.runner import batches

    plan = _tasks(tmp_path, 7, "arms:\n  a: {}\n  b: {set: {policies: []}}\n")
    tasks = plan.tasks("csv", {})
    jobs = batches(tasks, workers=1, size=3)
    assert [len(j) for j in jobs] == [3, 3, 1, 3, 3, 1]
    assert all(len({(t.sample, t.arm) for t in j}) == 1 for j in jobs)
    # automatic: enough batches for twice the workers, at most the scenario's batch size
    assert [len(j) for j in batches(tasks, workers=2)] == [4, 3] * 2
    assert [len(j) for j in batches(tasks, workers=4)] == [2, 2, 2, 1] * 2
    many = _tasks(tmp_path, 200).tasks("csv", {})
    assert [len(j) for j in batches(many, workers=1)] == [64, 64, 64, 8]  # the tutorial's
    assert [len(j) for j in batches(many, workers=1, size=100)] == [100, 100]  # as asked
    # a run with an injected fault runs alone, and so does a rig-resolution run
    faulty = [replace(t, fault="raise") if t.replicate == 1 else t for t in tasks[:7]]
    assert [len(j) for j in batches(faulty, workers=1, size=7)] == [1, 1, 5]
    rig = [replace(t, overrides=(*t.overrides, "resolution=rig")) for t in tasks[:3]]
    assert [len(j) for j in batches(rig, workers=1, size=3)] == [1, 1, 1]


def test_many_design_points_of_few_replicates_still_run_in_batches(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The automatic batch size counts the whole sweep's tasks, not one design point's: 8
    design points × 2 arms × 3 replicates on 2 workers are 16 batches of 3 (each design point
    alone would have asked for 3 / (2 × 2) → 1 replicate a batch, and the sweep ran every
    replicate alone, three times slower than -j 1); and the scenario's batch size is read
    once per arm, not once per design point (0.3 s each for china-2021)."""
    import sim.experiments.runner as runner

    plan = _tasks(tmp_path, 3, "arms:\n  a: {}\n  b: {set: {policies: []}}\n"
                  "parameters:\n  risk_aversion:\n    path: behaviour.risk_aversion\n"
                  "    low: 1\n    high: 3\n    levels: 8\n")
    tasks = plan.tasks("csv", {})
    loads: list[str] = []
    cap = runner._batch_cap
    monkeypatch.setattr(runner, "_batch_cap", lambda t: loads.append(t.arm) or cap(t))
    jobs = runner.batches(tasks, workers=2)
    assert [len(j) for j in jobs] == [3] * 16
    assert sorted(loads) == ["a", "b"]
    # a small sweep is still cut to keep the workers busy
    assert [len(j) for j in runner.batches(tasks[:6], workers=2)] == [2, 1, 2, 1]


def test_batch_size_shrinks_with_the_rows_a_copy_starts_with() -> None:
    from sim.batch import batch_size

    assert batch_size(sim.load("tutorial")) == 64  # 6 cohorts a copy: the most copies
    assert batch_size(sim.load("wuhan-general-2018")) == 24  # 84 cohorts
    assert batch_size(sim.load("china-2021")) == 6  # 336 cohorts a copy: merging costs O(copies)
    assert batch_size(sim.load("tutorial", ["resolution=rig"])) == 1


def test_a_batch_that_raises_runs_its_replicates_alone(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sim.batch
    from sim.experiments.runner import execute, execute_batch

    tasks = _tasks(tmp_path, 3).tasks("csv", {})

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a batch that fails")

    monkeypatch.setattr(sim.batch, "run_batch", broken)
    got = execute_batch(tasks)
    assert all(o.error is None for o in got)
    assert [o.tables for o in got] == [execute(t).tables for t in tasks]


def test_sweep_refuses_a_batch_of_none(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from sim.commands.experiments import sweep

    result = CliRunner().invoke(sweep, ["tutorial-sweep", "-o", str(tmp_path / "x"),
                                        "--batch", "0"])
    assert result.exit_code == 2 and "--batch" in result.output
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------- random worlds


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.integers(0, 2**31 - 1))
def test_batches_of_random_worlds_are_their_replicates(doc, seed) -> None:  # type: ignore[no-untyped-def]
    # every feature the generator knows (coins, hierarchies, routes with capacities, pools and
    # their events, facilities with orders, services, policies of every kind, lifts, outages)
    sc = scenario_of(doc)
    for rep, batched in zip((1, 0), run_batch(sc, seed, [1, 0]), strict=True):
        alone, _ = run_replicate(sc, seed, rep)
        _same(alone, batched)


def test_sim_run_batches_replicates_and_reports_every_day_of_each() -> None:
    sc = sim.load("tutorial", ["end=2021-04-30"])
    seen: list[tuple[int, int]] = []
    res = sim.run(sc, seed=8, replicates=3, on_day=lambda rep, day: seen.append((rep, day)))
    assert sorted(seen) == [(rep, day) for rep in range(3) for day in range(sc.num_days)]
    for rep in range(3):
        alone, _ = run_replicate(sc, 8, rep)
        for name, df in alone.items():
            got = res.tables[name]
            _same({name: df}, {name: got[got["replicate"] == rep].reset_index(drop=True)})
