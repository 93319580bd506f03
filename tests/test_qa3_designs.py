"""Design semantics: point counts, ranges (ends, log scale, whole numbers), lists in random
designs, the Saltelli and Morris layouts the sensitivity estimators read, seeds, parameters
limited to some arms, and samples.csv against the values the runs used."""

from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.commands.experiments import sweep
from sim.experiments import design as design_mod
from sim.experiments.plan import prepare
from sim.experiments.sensitivity import morris_indices, sobol_indices
from sim.experiments.spec import Experiment, ExperimentError, Parameter, read

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"


def _exp(params: dict[str, Any], design: Any) -> Experiment:
    return Experiment.model_validate({"name": "x", "scenario": "tutorial",
                                      "parameters": params, "design": design})


def _build(params: dict[str, Any], design: Any, seed: int = 1) -> design_mod.Design:
    exp = _exp(params, design)
    return design_mod.build(exp.parameters, exp.design, seed)


def _read(tmp_path: Path, params: str, design: str) -> Experiment:
    text = f"name: t\nscenario: {TUTORIAL}\nparameters:\n{params}\ndesign: {design}\n"
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return read(str(path), text)


# ---------------------------------------------------------------------------- counts


RANGES = {"a": {"low": 0, "high": 1}, "b": {"low": 1, "high": 100, "scale": "log"},
          "c": {"low": 2, "high": 9, "integer": True}}


@pytest.mark.parametrize(("design", "count"), [
    ({"kind": "lhs", "samples": 7}, 7), ({"kind": "halton", "samples": 5}, 5),
    ({"kind": "sobol", "base_samples": 4}, 4 * (3 + 2)),
    ({"kind": "morris", "trajectories": 3}, 3 * (3 + 1))])
def test_number_of_points_is_the_documented_one(design: dict[str, Any], count: int) -> None:
    assert _build(RANGES, design).num_samples == count


def test_grid_is_the_product_last_fastest_and_zip_pairs() -> None:
    params = {"p": {"values": ["x", "y", "z"]}, "q": {"low": 1, "high": 4, "levels": 4}}
    grid = _build(params, "grid").values
    assert [(v["p"], v["q"]) for v in grid] == [
        (p, q) for p in "xyz" for q in (1.0, 2.0, 3.0, 4.0)]
    zipped = _build({"p": {"values": ["x", "y", "z"]}, "q": {"low": 1, "high": 3, "levels": 3}},
                    "zip").values
    assert [(v["p"], v["q"]) for v in zipped] == [("x", 1.0), ("y", 2.0), ("z", 3.0)]
    assert _build({}, "grid").values == [{}]


def test_zip_of_unequal_lengths_is_refused_with_exit_code_3(tmp_path: Path) -> None:
    path = tmp_path / "z.yaml"
    path.write_text(f"name: z\nscenario: {TUTORIAL}\nparameters:\n"
                    "  hazard: {path: policies.ban.hazard_per_day, values: [0.02, 0.1, 0.2]}\n"
                    "  risk_aversion: {path: behaviour.risk_aversion, low: 1, high: 3, "
                    "levels: 2}\ndesign: zip\n", encoding="utf-8")
    result = CliRunner().invoke(sweep, [str(path), "--dry-run"])
    assert result.exit_code == 3, result.output
    assert "z.yaml:6:9: design:" in result.output
    assert "same length (hazard: 3, risk_aversion: 2)" in result.output


# ---------------------------------------------------------------------------- ranges


def test_grid_levels_hit_the_ends_exactly_and_are_tidy() -> None:
    """Log levels were exp(log(x)): 30.000000000000004, 299.99999999999994, 2999.9999999999977
    were written to the scenario and samples.csv instead of 30, 300, 3000."""
    assert Parameter(low=30, high=3000, scale="log", levels=3).grid() == [30.0, 300.0, 3000.0]
    assert Parameter(low=0.1, high=0.7, levels=4).grid() == [0.1, 0.3, 0.5, 0.7]
    assert Parameter(low=1e-3, high=1e3, scale="log", levels=7).grid() == \
        [0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]
    for p in (Parameter(low=0.01, high=0.2, scale="log"), Parameter(low=0.3, high=0.7)):
        assert (p.from_unit(0.0), p.from_unit(1.0)) == (p.low, p.high)


@pytest.mark.parametrize("kind", ["lhs", "halton", "sobol"])
def test_random_designs_stay_inside_every_range(kind: str) -> None:
    params = {**RANGES, "d": {"low": 0.5, "high": 2.5, "integer": True},
              "e": {"low": 3, "high": 7.5, "scale": "log", "integer": True}}
    design = {"kind": kind, **({"base_samples": 64} if kind == "sobol" else {"samples": 300})}
    values = _build(params, design, 5).values
    for name, lo, hi in (("a", 0, 1), ("b", 1, 100), ("c", 2, 9), ("d", 1, 2), ("e", 3, 7)):
        column = [v[name] for v in values]
        assert lo <= min(column) and max(column) <= hi, (name, min(column), max(column))
    for name in "cde":
        assert all(type(v[name]) is int for v in values)
    # d = 0.5 .. 2.5 used to round 0.5 to 0 (and 2.5 to 2: round half to even)
    assert {v["d"] for v in values} == {1, 2}


def test_whole_numbers_are_equally_likely_and_an_lhs_takes_each() -> None:
    """An integer range 1..3 used to give 1 and 3 half the chance of 2: a Latin hypercube of
    3 samples could be 2, 2, 2."""
    p = Parameter(low=1, high=3, integer=True)
    counts = collections.Counter(p.from_unit(u) for u in (np.arange(3000) + 0.5) / 3000)
    assert counts == {1: 1000, 2: 1000, 3: 1000}
    for seed in range(12):
        d = _build({"n": {"low": 1, "high": 3, "integer": True},
                    "v": {"values": ["x", "y", "z"]}}, {"kind": "lhs", "samples": 3}, seed)
        assert sorted(v["n"] for v in d.values) == [1, 2, 3], seed
        assert sorted(v["v"] for v in d.values) == ["x", "y", "z"], seed


def test_integer_grid_levels_round_half_up_inside_the_range() -> None:
    assert Parameter(low=100, high=201, integer=True, levels=3).grid() == [100, 151, 201]
    assert Parameter(low=0.5, high=4.5, integer=True, levels=4).grid() == [1, 2, 3, 4]
    assert all(type(v) is int for v in Parameter(low=1, high=9, integer=True, levels=5).grid())


@pytest.mark.parametrize(("param", "design", "message"), [
    ("{path: fleet.0.rigs, low: 1, high: 2, integer: true, levels: 5}", "grid",
     "levels: 5 on the whole numbers 1 to 2 repeat values (1, 1, 2, 2, 2)"),
    ("{path: fleet.0.rigs, low: 1, high: 20, scale: log, integer: true, levels: 10}", "zip",
     "levels: 10 on the whole numbers 1 to 20 repeat values"),
    ("{path: fleet.0.rigs, low: 1, high: 2, integer: true}", "{kind: morris, trajectories: 2}",
     "the morris design's levels: 4 on the whole numbers 1 to 2 repeat values"),
    ("{path: fleet.0.rigs, low: 1.2, high: 1.8, integer: true}", "{kind: lhs, samples: 2}",
     "integer: true needs a whole number from low (1.2) to high (1.8)"),
])
def test_integer_ranges_too_narrow_for_the_design_are_refused(
        tmp_path: Path, param: str, design: str, message: str) -> None:
    with pytest.raises(ExperimentError) as info:
        _read(tmp_path, f"  rigs: {param}", design)
    assert message in str(info.value)
    assert info.value.exit_code == 3


# ---------------------------------------------------------------------------- sobol, morris


def test_saltelli_layout_gives_the_analytic_indices() -> None:
    """f = a + 2·b with a, b uniform on [0, 1]: S1 = ST = 0.2 and 0.8, through the design's
    values and the estimator `hashsim sensitivity` uses."""
    d = _build({"a": {"low": 0, "high": 1}, "b": {"low": 10, "high": 11}},
               {"kind": "sobol", "base_samples": 1024}, 3)
    assert d.info["base_samples"] == 1024 and d.info["num_params"] == 2
    y = np.array([v["a"] + 2 * v["b"] for v in d.values])
    df = sobol_indices(y, 2, d.names, resamples=50).set_index("parameter")
    assert df.loc["a", "S1"] == pytest.approx(0.2, abs=0.03)
    assert df.loc["b", "S1"] == pytest.approx(0.8, abs=0.03)
    assert df.loc["a", "ST"] == pytest.approx(0.2, abs=0.03)
    assert df.loc["b", "ST"] == pytest.approx(0.8, abs=0.03)


def test_morris_points_lie_on_the_levels_and_effects_are_per_range() -> None:
    params = {"a": {"low": 2, "high": 5}, "b": {"low": 1, "high": 1000, "scale": "log"},
              "n": {"low": 0, "high": 9, "integer": True}}
    d = _build(params, {"kind": "morris", "trajectories": 6, "levels": 4}, 2)
    assert d.info["trajectories"] == 6 and d.info["levels"] == 4
    assert d.info["delta"] == pytest.approx(4 / 6)
    assert {v["a"] for v in d.values} <= {2.0, 3.0, 4.0, 5.0}
    assert {round(v["b"], 6) for v in d.values} <= {1.0, 10.0, 100.0, 1000.0}
    assert {v["n"] for v in d.values} <= {0, 3, 6, 9}
    y = np.array([3 * v["a"] - 2 * math.log10(v["b"]) for v in d.values])
    df = morris_indices(y, d.info["steps"], d.info["delta"], 3, d.names, resamples=20)
    df = df.set_index("parameter")
    assert df.loc["a", "mu"] == pytest.approx(3 * 3)       # per the full range 2..5
    assert df.loc["b", "mu"] == pytest.approx(-2 * 3)      # per the range of log10: 3 decades
    assert df.loc["n", "mu_star"] == pytest.approx(0)
    # an integer parameter moves by exactly Δ of its range at each step (0, 3, 6, 9)
    traj = np.array([[v["n"] for v in d.values]]).reshape(6, 4)
    for t, steps in enumerate(d.info["steps"]):
        k = steps[0::2].index(2)
        assert traj[t, k + 1] - traj[t, k] == 6 * steps[2 * k + 1]


# ---------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("design", [{"kind": "lhs", "samples": 4},
                                    {"kind": "halton", "samples": 4},
                                    {"kind": "sobol", "base_samples": 2},
                                    {"kind": "morris", "trajectories": 3}])
def test_same_seed_same_design_another_seed_another(design: dict[str, Any]) -> None:
    one, two, other = (_build(RANGES, design, s).values for s in (11, 11, 12))
    assert one == two and one != other


# ---------------------------------------------------------------------------- end to end


E2E = f"""\
name: e2e
scenario: {TUTORIAL}
arms:
  ban: {{}}
  calm: {{}}
parameters:
  hazard: {{path: policies.ban.hazard_per_day, low: 0.01, high: 0.2, scale: log, arms: [ban]}}
  rigs: {{path: fleet.0.rigs, low: 1000, high: 12000, integer: true}}
  risk_aversion: {{path: behaviour.risk_aversion, values: [1.5, 2.5, 4.0], arms: [calm]}}
design: {{kind: lhs, samples: 3}}
seed: 7
"""


def test_samples_csv_and_param_columns_hold_what_the_runs_used(tmp_path: Path) -> None:
    from sim.validation import loads

    path = tmp_path / "e2e.yaml"
    path.write_text(E2E, encoding="utf-8")
    plan = prepare(path, ["end=2021-01-02"])
    base: Any = loads(TUTORIAL.read_text(), str(TUTORIAL))
    for task in plan.tasks():
        scen: Any = loads(task.scenario_text, task.scenario_file, task.overrides)
        used = {"hazard": scen.policies[1].hazard_per_day, "rigs": scen.fleet[0].rigs,
                "risk_aversion": scen.behaviour.risk_aversion}
        point = plan.design.values[task.sample]
        for name, value in task.params:
            if value is None:  # not this arm's parameter: the scenario's own value
                assert used[name] == {"hazard": base.policies[1].hazard_per_day,
                                      "risk_aversion": base.behaviour.risk_aversion}[name]
            else:
                assert used[name] == value == point[name]
        assert (task.arm == "ban") == (dict(task.params)["hazard"] is not None)

    out = tmp_path / "out"
    result = CliRunner().invoke(sweep, [str(path), "--set", "end=2021-01-02", "-j", "1",
                                        "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    samples = pd.read_csv(out / "samples.csv")
    assert samples.columns.tolist() == ["sample", "param_hazard", "param_rigs",
                                        "param_risk_aversion"]
    for s, point in enumerate(plan.design.values):
        for name, value in point.items():
            assert samples.loc[s, f"param_{name}"] == value  # exact float round trip
    summary = pd.read_csv(out / "summary.csv")
    keys = summary[["sample", "arm", "param_hazard", "param_rigs",
                    "param_risk_aversion"]].drop_duplicates()
    assert len(keys) == 3 * 2
    for row in keys.to_dict("records"):
        point = plan.design.values[int(row["sample"])]
        assert row["param_rigs"] == point["rigs"]
        assert (row["param_hazard"] == point["hazard"]) if row["arm"] == "ban" \
            else math.isnan(row["param_hazard"])
        assert (row["param_risk_aversion"] == point["risk_aversion"]) if row["arm"] == "calm" \
            else math.isnan(row["param_risk_aversion"])
    # the hashrate before the shock counts the rigs the run had: 100 TH/s each
    pre = summary[(summary["metric"] == "pre_shock_hashrate") & (summary["arm"] == "ban")]
    others = 8000 + 5000 + 3000
    for row in pre.to_dict("records"):
        assert row["value"] == pytest.approx((row["param_rigs"] + others) * 1e14, rel=1e-3)


def test_a_resume_refuses_a_folder_of_other_design_points() -> None:
    """The fingerprint covered the experiment, overrides, seed and scenarios but not the points
    themselves: another version drawing other points from the same seed (as the integer fix
    of this pass does) would have mixed two designs' shards on --resume."""
    import dataclasses

    from sim.bundled import resolve_experiment
    from sim.experiments.plan import _with_fingerprint, prepare

    plan = prepare(resolve_experiment("tutorial-sweep"))
    moved = [dict(p) for p in plan.design.values]
    moved[0]["hazard"] = 0.021
    other = _with_fingerprint(dataclasses.replace(
        plan, design=dataclasses.replace(plan.design, values=moved)))
    assert other.fingerprint != plan.fingerprint
    assert _with_fingerprint(plan).fingerprint == plan.fingerprint  # and it is stable
