"""Sensitivity indices against the Ishigami function's known values, and end to end.

Ishigami: f(x) = sin x1 + a sin² x2 + b x3⁴ sin x1 on [−π, π]³ (a = 7, b = 0.1), whose Sobol'
indices are known in closed form (Ishigami & Homma 1990; Sobol' & Levitan 1999). For Morris,
the exact mu and mu* of the 4-level design are means over every (point, step) pair of the grid,
which the random trajectories sample uniformly.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.commands.experiments import sensitivity, sweep
from sim.experiments.design import build
from sim.experiments.sensitivity import morris_indices, sobol_indices
from sim.experiments.spec import Morris, Parameter, Sobol

A, B = 7.0, 0.1
PI = math.pi
PARAMS = {f"x{i}": Parameter(path=f"x{i}", low=-PI, high=PI) for i in (1, 2, 3)}
ROOT = Path(__file__).resolve().parents[1]


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def analytic_sobol() -> tuple[list[float], list[float]]:
    v1 = 0.5 * (1 + B * PI**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * PI**8 * (1 / 18 - 1 / 50)
    var = A**2 / 8 + B * PI**4 / 5 + B**2 * PI**8 / 18 + 0.5
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def analytic_morris(levels: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Exact mu and mu* of the elementary effects on the ``levels``-point grid."""
    grid = np.arange(levels) / (levels - 1)
    delta = levels / (2 * (levels - 1))
    lower = grid[: levels // 2]
    mu, mu_star = np.zeros(3), np.zeros(3)
    for i in range(3):
        effects = []
        for xi in lower:
            for others in itertools.product(grid, repeat=2):
                u = np.insert(np.array(others), i, xi)
                up = u.copy()
                up[i] += delta
                x0, x1 = -PI + 2 * PI * u, -PI + 2 * PI * up
                effects.append((ishigami(x1[None])[0] - ishigami(x0[None])[0]) / delta)
        mu[i], mu_star[i] = np.mean(effects), np.mean(np.abs(effects))
    return mu, mu_star


def _values(design: object) -> np.ndarray:
    return np.array([[v[n] for n in PARAMS] for v in design.values])  # type: ignore[attr-defined]


def test_analytic_values_are_the_published_ones() -> None:
    s1, st = analytic_sobol()
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


def test_sobol_indices_of_ishigami_cover_the_analytic_values() -> None:
    design = build(PARAMS, Sobol(kind="sobol", base_samples=4096), seed=1)
    df = sobol_indices(ishigami(_values(design)), 3, list(PARAMS), resamples=500,
                       confidence=0.99, seed=0)
    s1, st = analytic_sobol()
    for i, row in df.iterrows():
        assert row["S1_low"] <= s1[int(i)] <= row["S1_high"], row
        assert row["ST_low"] <= st[int(i)] <= row["ST_high"], row
        assert row["ST_high"] - row["ST_low"] < 0.15  # informative, not just wide
    assert df["n"].tolist() == [4096] * 3


def test_morris_indices_of_ishigami_cover_the_exact_values() -> None:
    design = build(PARAMS, Morris(kind="morris", trajectories=300, levels=4), seed=1)
    df = morris_indices(ishigami(_values(design)), design.info["steps"], design.info["delta"],
                        3, list(PARAMS), resamples=500, confidence=0.99, seed=0)
    mu, mu_star = analytic_morris()
    for i, row in df.iterrows():
        assert row["mu_star_low"] <= mu_star[int(i)] <= row["mu_star_high"], row
    # x2 enters through sin², which the 4-level grid samples at two symmetric pairs only
    assert df.loc[1, "mu_star"] == pytest.approx(mu_star[1])
    assert df.loc[0, "mu"] == pytest.approx(mu[0], rel=0.1)


def test_estimators_agree_with_salib() -> None:
    pytest.importorskip("SALib")
    from SALib.analyze import morris as salib_morris
    from SALib.analyze import sobol as salib_sobol

    problem = {"num_vars": 3, "names": list(PARAMS), "bounds": [[-PI, PI]] * 3}
    design = build(PARAMS, Sobol(kind="sobol", base_samples=512), seed=2)
    y = ishigami(_values(design))
    ours = sobol_indices(y, 3, resamples=10)
    theirs = salib_sobol.analyze(problem, y, calc_second_order=False, num_resamples=10)
    np.testing.assert_allclose(ours["S1"], theirs["S1"], rtol=1e-10)
    np.testing.assert_allclose(ours["ST"], theirs["ST"], rtol=1e-10)
    design = build(PARAMS, Morris(kind="morris", trajectories=50, levels=4), seed=2)
    x = _values(design)
    ours = morris_indices(ishigami(x), design.info["steps"], design.info["delta"], 3,
                          resamples=10)
    theirs = salib_morris.analyze(problem, x, ishigami(x), num_levels=4, num_resamples=10)
    np.testing.assert_allclose(ours["mu_star"], theirs["mu_star"], rtol=1e-10)
    np.testing.assert_allclose(ours["sigma"], theirs["sigma"], rtol=1e-10)


def test_incomplete_base_samples_are_left_out() -> None:
    design = build(PARAMS, Sobol(kind="sobol", base_samples=64), seed=3)
    y = ishigami(_values(design))
    y[7] = np.nan  # in the block of base sample 1
    assert sobol_indices(y, 3, resamples=10)["n"].tolist() == [63] * 3


def _fake_sweep(tmp_path: Path, kind: str) -> Path:
    """A results folder whose `drop` metric is Ishigami of the design (no simulation)."""
    spec = Sobol(kind="sobol", base_samples=1024) if kind == "sobol" else \
        Morris(kind="morris", trajectories=200, levels=4)
    design = build(PARAMS, spec, seed=4)
    y = ishigami(_values(design))
    out = tmp_path / kind
    out.mkdir()
    manifest = {"hashsim_experiment": 1, "design": design.info, "num_samples": len(y),
                "parameters": {n: p.model_dump(mode="json") for n, p in PARAMS.items()},
                "arms": {"base": {}}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    rows = [{"sample": s, "arm": "base", "replicate": r, "coin": "BTC", "metric": "drop",
             "value": v, "unit": "%", "date": ""} for s, v in enumerate(y) for r in (0, 1)]
    pd.DataFrame(rows).to_csv(out / "summary.csv", index=False)
    return out


def test_cli_on_a_sobol_results_folder(tmp_path: Path) -> None:
    folder = _fake_sweep(tmp_path, "sobol")
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop",
                                              "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "S1" in result.output and "ST" in result.output
    df = pd.read_csv(folder / "sensitivity_drop.csv")
    s1, st = analytic_sobol()
    np.testing.assert_allclose(df["S1"], s1, atol=0.06)
    np.testing.assert_allclose(df["ST"], st, atol=0.06)


def test_design_points_with_replicates_missing_a_value_are_counted_and_warned(
        tmp_path: Path) -> None:
    """A design point's output is the mean of its replicates that have a value: where one of
    two has none (a recovery not reached), it averaged the other silently. It still does (the
    censored replicate has no value to average), but the CSV counts those points and the
    command warns."""
    folder = _fake_sweep(tmp_path, "morris")
    summary = pd.read_csv(folder / "summary.csv")
    blank = (summary["replicate"] == 1) & (summary["sample"] % 100 == 7)  # 8 design points
    summary.loc[blank, "value"] = np.nan
    summary.to_csv(folder / "summary.csv", index=False)
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop",
                                              "--resamples", "50"])
    assert result.exit_code == 0, result.output
    assert "warning: drop · base: at 8 design point(s) some replicates have no value" \
        in result.stderr
    df = pd.read_csv(folder / "sensitivity_drop.csv")
    assert (df["points_partial"] == 8).all() and (df["n"] == 200).all()
    (tmp_path / "whole").mkdir()
    whole = _fake_sweep(tmp_path / "whole", "morris")
    result = CliRunner().invoke(sensitivity, [str(whole), "--metric", "drop",
                                              "--resamples", "50"])
    assert "warning" not in result.stderr
    assert (pd.read_csv(whole / "sensitivity_drop.csv")["points_partial"] == 0).all()


def test_cli_errors(tmp_path: Path) -> None:
    folder = _fake_sweep(tmp_path, "morris")
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "dorp"])
    assert result.exit_code == 2 and "did you mean 'drop'?" in result.output
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop", "--arm", "x"])
    assert result.exit_code == 2 and "arms are: base" in result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["design"] = {"kind": "grid"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop"])
    assert result.exit_code == 2 and "sobol or morris design" in result.output
    result = CliRunner().invoke(sensitivity, [str(tmp_path), "--metric", "drop"])
    assert result.exit_code == 3 and "not a sweep results folder" in result.output


def test_morris_sweep_of_the_tutorial_end_to_end(tmp_path: Path) -> None:
    exp = tmp_path / "morris.yaml"
    exp.write_text(f"""\
name: morris
scenario: {ROOT / "scenarios" / "tutorial.yaml"}
set: {{end: 2021-04-30}}
parameters:
  hazard: {{path: policies.ban.hazard_per_day, low: 0.01, high: 0.2}}
  decision_rate: {{path: behaviour.decision_rate_per_day, low: 0.05, high: 0.5}}
design: {{kind: morris, trajectories: 3, levels: 4}}
seed: 1
""")
    result = CliRunner().invoke(sweep, [str(exp), "-o", str(tmp_path / "out"), "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(sensitivity, [str(tmp_path / "out"), "--metric", "drop",
                                              "--resamples", "50"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(tmp_path / "out" / "sensitivity_drop.csv")
    assert df["parameter"].tolist() == ["hazard", "decision_rate"]
    assert (df["n"] == 3).all() and (df["mu_star"] > 0).all()


def test_an_incomplete_sweep_is_refused(tmp_path: Path) -> None:
    """A failed run leaves its design point out: the indices would drop a base sample (or a
    trajectory) without a word, so the analysis is refused, naming the missing runs."""
    folder = _fake_sweep(tmp_path, "sobol")
    summary = pd.read_csv(folder / "summary.csv")
    summary[~((summary["sample"] == 5) & (summary["replicate"] == 1))].to_csv(
        folder / "summary.csv", index=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(failed=[{"sample": 5, "arm": "base", "replicate": 1, "error": "x"}],
                    experiment_file="exp.yaml")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop",
                                              "--resamples", "20"])
    assert result.exit_code == 2, result.output
    assert "the sweep is incomplete: 1 of " in result.output
    assert "sample 5 arm base replicate 1" in result.output and "missing samples: 5)" in \
        result.output
    assert f"hashsim sweep exp.yaml -o {folder} --resume" in result.output
    assert not (folder / "sensitivity_drop.csv").exists()


def test_an_existing_output_file_needs_force(tmp_path: Path) -> None:
    folder = _fake_sweep(tmp_path, "morris")
    target = tmp_path / "indices.csv"
    target.write_text("keep me\n")
    args = [str(folder), "--metric", "drop", "--resamples", "20", "-o", str(target)]
    result = CliRunner().invoke(sensitivity, args)
    assert result.exit_code == 2 and "--force" in result.output, result.output
    assert target.read_text() == "keep me\n"
    result = CliRunner().invoke(sensitivity, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "mu_star" in target.read_text()
    for _ in range(2):  # the default file in the results folder is derived: it is replaced
        result = CliRunner().invoke(sensitivity, [str(folder), "--metric", "drop",
                                                  "--resamples", "20"])
        assert result.exit_code == 0, result.output
