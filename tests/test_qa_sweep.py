"""Defects found by a QA pass of the experiment commands, each pinned by a test.

- a sweep that cannot start (no Dask, an unreachable scheduler) leaves its folder alone;
- every design point is validated before anything runs (a grid midpoint included);
- ``summarize`` says when runs are missing; ``sensitivity`` refuses an incomplete design;
- ``hashsim report`` finds the tables ``hashsim sensitivity`` writes;
- a missing optional package is a usage error (exit code 2) everywhere.

Runs are the tutorial world cut to two months, in process: a fraction of a second each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.commands.experiments import _g, summarize
from sim.experiments import plan as plan_mod
from sim.experiments.runner import FAULTS_ENV
from tests.test_experiments import TUTORIAL, _sweep, _write

SMALL = f"""\
name: qa
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
parameters:
  risk_aversion: {{path: behaviour.risk_aversion, values: [1.0, 3.0]}}
replicates: 1
seed: 5
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def complete(tmp_path: Path) -> Path:
    """A complete two-run sweep."""
    code, out = _sweep(_write(tmp_path, SMALL), "-o", tmp_path / "out", "-q")
    assert code == 0, out
    return tmp_path / "out"


# ---------------------------------------------------------------------------- 1: --force


def test_a_forced_sweep_that_cannot_start_keeps_the_old_one(complete: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """Without Dask (or with its scheduler unreachable) the old sweep survives --force, and
    no folder is created without it."""
    before = _snapshot(complete)
    assert "network.csv" in before and "manifest.json" in before
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    exp = tmp_path / "exp.yaml"
    code, out = _sweep(exp, "-o", complete, "--force", "--scheduler", "tcp://127.0.0.1:1", "-q")
    assert code == 2 and "Dask" in out, out
    assert _snapshot(complete) == before
    code, out = _sweep(exp, "-o", tmp_path / "new", "--scheduler", "local", "-q")
    assert code == 2 and "Dask" in out, out
    assert not (tmp_path / "new").exists()


def test_the_executor_is_shut_down_when_the_folder_cannot_be_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.experiments import runner

    closed: list[bool] = []

    class Spy(runner.Pool):
        def close(self, cancel: bool = False) -> None:
            closed.append(cancel)
            super().close(cancel)

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "Pool", Spy)
    monkeypatch.setattr(runner, "_prepare_directory", refuse)
    plan = plan_mod.prepare(_write(tmp_path, SMALL))
    with pytest.raises(OSError, match="No space"):
        runner.run_sweep(plan, tmp_path / "out", jobs=2)
    assert closed == [True]


# ---------------------------------------------------------------------------- 4: design points


MIDPOINT = f"""\
name: midpoint
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
parameters:
  rigs: {{path: fleet.0.rigs, low: 100, high: 201, levels: 3}}
design: grid
"""


def test_an_invalid_grid_midpoint_is_refused_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = _sweep(_write(tmp_path, MIDPOINT), "-o", out, "-q")
    assert code == 3, text
    assert "Traceback" not in text
    assert "exp.yaml:5:3: parameters.rigs: at sample 1 (rigs = 150.5) in arm 'base': " \
           "fleet.0.rigs:" in text
    assert "invalid experiment" in text and not out.exists()
    fixed = MIDPOINT.replace("levels: 3}", "levels: 3, integer: true}")
    assert plan_mod.prepare(_write(tmp_path, fixed, "fixed.yaml")).design.num_samples == 3


def test_values_that_clash_only_together_are_refused(tmp_path: Path) -> None:
    """Each value is valid alone (the extremes check passes); one combination is not."""
    text = f"""\
name: clash
scenario: {TUTORIAL}
arms: {{a: {{}}, b: {{}}}}
parameters:
  bought: {{path: purchases.0.start, values: [2021-03-01, 2021-05-15]}}
  end: {{values: [2021-04-30, 2021-12-31]}}
design: grid
"""
    code, out = _sweep(_write(tmp_path, text), "-o", tmp_path / "out", "-q")
    assert code == 3, out  # a purchase that starts after the run ends
    assert "at sample 2 (bought = 2021-05-15, end = 2021-04-30) in arms 'a', 'b':" in out
    assert out.count("at sample") == 1 and not (tmp_path / "out").exists()


def _big_design(tmp_path: Path, samples: int) -> tuple[Any, Any, Any]:
    text = f"""\
name: big
scenario: {TUTORIAL}
arms: {{ban: {{}}, no-ban: {{set: {{policies: []}}}}}}
parameters:
  hazard: {{path: policies.ban.hazard_per_day, low: 0.01, high: 0.2, scale: log, arms: [ban]}}
  risk_aversion: {{path: behaviour.risk_aversion, low: 0.5, high: 4}}
  horizon: {{path: behaviour.horizon_days, low: 60, high: 365, integer: true}}
  rigs: {{path: fleet.0.rigs, values: [100, 150.5, 200]}}
design: {{kind: lhs, samples: {samples}}}
seed: 1
"""
    from sim.experiments.design import build
    from sim.experiments.spec import parse_yaml, read

    path = _write(tmp_path, text)
    exp = read(str(path), text)
    return exp, parse_yaml(str(path), text), build(exp.parameters, exp.design, 1)


def test_every_design_point_is_checked_once_and_fast(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 design points × 2 arms are checked without reading the scenario for each: the
    full load runs only for the few that fail (to give located messages)."""
    import sim.validation

    exp, doc, design = _big_design(tmp_path, 2000)
    arms = [plan_mod.ArmPlan(name, i, str(TUTORIAL), TUTORIAL.read_text(), overrides)
            for i, (name, overrides) in enumerate((("ban", ()), ("no-ban", ("policies=[]",))))]
    loads = sim.validation.loads
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return loads(*args, **kwargs)

    monkeypatch.setattr(sim.validation, "loads", counting)
    issues = [i for arm in arms
              for i in plan_mod._check_samples(exp, doc, "exp.yaml", arm, design)]
    # rigs = 150.5 is invalid in about a third of the points: 5 reported per arm, the rest counted
    assert [i.message.startswith("at sample") for i in issues].count(True) == 10
    counted = [i.message for i in issues if "more invalid" in i.message]
    assert len(counted) == 2 and all(int(m.split()[0]) > 500 for m in counted), counted
    assert len(calls) < 40, len(calls)  # per arm: the checker's setup and the 5 reported


def test_the_fast_check_agrees_with_the_full_load(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    exp, doc, design = _big_design(tmp_path, 12)
    arm = plan_mod.ArmPlan("ban", 0, str(TUTORIAL), TUTORIAL.read_text(), ())
    fast = plan_mod._check_samples(exp, doc, "exp.yaml", arm, design)
    monkeypatch.setattr(plan_mod._SampleChecker, "_prepare", lambda self, probe: None)
    slow = plan_mod._check_samples(exp, doc, "exp.yaml", arm, design)
    assert fast and [str(i) for i in fast if "at sample" in i.message] == \
        [str(i) for i in slow if "at sample" in i.message]


# ---------------------------------------------------------------------------- 3: failed runs


def test_summarize_warns_about_failed_runs_and_counts_them(tmp_path: Path) -> None:
    exp, out = _write(tmp_path, SMALL), tmp_path / "out"
    code, text = _sweep(exp, "-o", out, "-q", env={FAULTS_ENV: "raise@s000001-base-r000000"})
    assert code == 4, text
    for args in ([str(out)], [str(out), "-q"]):
        result = CliRunner().invoke(summarize, args)
        assert result.exit_code == 0, result.output
        assert "warning: 1 of 2 runs of this sweep failed (sample 1 arm base replicate 0" \
               in result.stderr
        assert "the ensemble is incomplete" in result.stderr
        assert f"hashsim sweep {exp} -o {out} --resume" in result.stderr
    metrics = pd.read_csv(out / "ensemble_metrics.csv")
    assert (metrics["n_failed"] == 1).all() and (metrics["n"] + metrics["n_missing"] == 1).all()
    result = CliRunner().invoke(summarize, [str(out), "--by-sample", "-q"])
    metrics = pd.read_csv(out / "ensemble_metrics.csv")
    assert set(metrics["sample"]) == {0} and (metrics["n_failed"] == 0).all()
    code, text = _sweep(exp, "-o", out, "--resume", "-q")
    assert code == 0, text
    result = CliRunner().invoke(summarize, [str(out), "-q"])
    assert result.exit_code == 0 and "warning" not in result.stderr
    assert (pd.read_csv(out / "ensemble_metrics.csv")["n_failed"] == 0).all()


def test_a_sweep_with_no_run_left_is_refused_plainly(tmp_path: Path) -> None:
    from sim.commands.experiments import sensitivity

    exp, out = _write(tmp_path, SMALL), tmp_path / "out"
    code, text = _sweep(exp, "-o", out, "-q", env={FAULTS_ENV: "raise@*"})
    assert code == 4, text
    result = CliRunner().invoke(summarize, [str(out)])
    assert result.exit_code == 3, result.output
    assert "nothing to summarize (all 2 runs failed" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["design"] = {"kind": "morris"}  # as if it were a morris design
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(sensitivity, [str(out), "--metric", "drop"])
    assert result.exit_code == 2, result.output
    assert "the sweep is incomplete: 2 of 2 runs have no results" in result.stderr


# ---------------------------------------------------------------------------- 2: the report


def _experiment_folder(folder: Path) -> Path:
    """The smallest folder `load_run` reads as an experiment."""
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"hashsim_experiment": 1, "arms": {}}))
    pd.DataFrame({"sample": [0, 0], "arm": ["base", "base"], "replicate": [0, 0],
                  "date": ["2021-01-01", "2021-01-02"], "coin": ["TUT", "TUT"],
                  "hashrate_hs": [1e18, 1.1e18]}).to_csv(folder / "network.csv", index=False)
    return folder


def _indices(metric: str, s1: float) -> pd.DataFrame:
    """A table as `hashsim sensitivity --metric METRIC` writes it (sobol)."""
    return pd.DataFrame({"arm": "base", "coin": "TUT", "metric": metric,
                         "parameter": ["hazard", "risk_aversion"], "S1": [s1, 0.1],
                         "S1_low": [s1 - 0.1, 0.0], "S1_high": [s1 + 0.1, 0.2], "ST": [0.7, 0.2],
                         "ST_low": [0.6, 0.1], "ST_high": [0.8, 0.3], "n": 64})


def test_load_run_reads_the_tables_hashsim_sensitivity_writes(tmp_path: Path) -> None:
    from sim.rundata import load_run

    folder = _experiment_folder(tmp_path / "exp")
    assert load_run(folder).sensitivity is None
    _indices("trough_hashrate", 0.4).to_csv(folder / "sensitivity_trough_hashrate.csv",
                                            index=False)
    _indices("drop", 0.6).to_csv(folder / "sensitivity_drop.csv", index=False)
    sens = load_run(folder).sensitivity
    assert sens is not None
    assert list(dict.fromkeys(sens["metric"])) == ["drop", "trough_hashrate"]  # name order
    # sensitivity.csv still counts, for the metrics no sensitivity_<metric>.csv covers
    pd.concat([_indices("drop", 0.9), _indices("energy", 0.3)]).to_csv(
        folder / "sensitivity.csv", index=False)
    sens = load_run(folder).sensitivity
    assert sens is not None
    assert list(dict.fromkeys(sens["metric"])) == ["energy", "drop", "trough_hashrate"]
    assert sens.loc[sens["metric"] == "drop", "S1"].iloc[0] == 0.6  # the command's own file


# ---------------------------------------------------------------------------- 6: extras


def test_a_missing_optional_package_is_exit_code_2(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.commands.visual import report
    from sim.rundata import MissingExtraError

    assert MissingExtraError.exit_code == 2
    folder = _experiment_folder(tmp_path / "exp")
    for name in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "plotly", None)
    result = CliRunner().invoke(report, [str(folder)])
    assert result.exit_code == 2, result.output
    assert "pip install 'hashsim[report]'" in result.stderr and "Traceback" not in result.output


def test_a_scheduler_address_where_nothing_listens_fails_at_once(complete: Path,
                                                                  tmp_path: Path) -> None:
    """A refused tcp:// address is reported from a direct probe, not after Dask's client has
    retried for its 20 s timeout; the old sweep is kept."""
    import socket

    pytest.importorskip("distributed")
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _snapshot(complete)
    code, out = _sweep(tmp_path / "exp.yaml", "-o", complete, "--force", "--scheduler",
                       f"tcp://127.0.0.1:{port}", "-q")
    assert code == 2 and f"nothing answers at 127.0.0.1:{port}" in out, out
    assert _snapshot(complete) == before


# ------------------------------------------------------------ 6: the printout reads in order


ARMS_UNSORTED = f"""\
name: qa-arms
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
arms:
  zeta-base: {{description: the tutorial}}
  alpha-averse: {{description: more risk-averse, set: {{behaviour.risk_aversion: 3.0}}}}
replicates: 3
seed: 5
"""


def test_summarize_keeps_the_experiments_arm_order_and_reads_in_units(tmp_path: Path) -> None:
    """Arms come in the experiment's order (not alphabetically) in ensemble_metrics.csv,
    ensemble_series.csv and the printout, as the differences take them; the printout's
    metrics come in the headline's order, a hashrate in EH/s … H/s, each adjustment's
    direction on its own line (the largest in size, with its sign, would average a rise with
    a fall)."""
    exp, out = _write(tmp_path, ARMS_UNSORTED), tmp_path / "out"
    code, text = _sweep(exp, "-o", out, "-q")
    assert code == 0, text
    result = CliRunner().invoke(summarize, [str(out)])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out / "ensemble_metrics.csv")
    assert list(dict.fromkeys(metrics["arm"])) == ["zeta-base", "alpha-averse"]
    series = pd.read_csv(out / "ensemble_series.csv")  # the same order as the metrics
    assert list(dict.fromkeys(series["arm"])) == ["zeta-base", "alpha-averse"]
    within = series[series["arm"] == "zeta-base"]  # main series in order, dates sorted
    assert list(dict.fromkeys(within["series"]))[:2] == ["hashrate_hs", "difficulty"]
    assert within.groupby("series")["date"].is_monotonic_increasing.all()
    within = metrics[metrics["arm"] == "zeta-base"]
    assert list(within["metric"]) == sorted(within["metric"])  # sorted within an arm
    text = result.stdout
    assert text.index("\nzeta-base · ") < text.index("\nalpha-averse · ") \
        < text.index("alpha-averse − zeta-base")
    block = text[text.index("\nzeta-base · "):text.index("\nalpha-averse · ")]
    names = [line.split()[0] for line in block.splitlines()[2:] if line.strip()]
    assert names[:5] == ["pre_shock_hashrate", "trough_hashrate", "drop",
                         "days_to_recover_90", "days_to_recover_100"]
    assert "largest_adjustment" not in names
    assert {"largest_downward_adjustment", "largest_upward_adjustment"} <= set(names)
    pre = next(line for line in block.splitlines() if "pre_shock_hashrate" in line)
    value = metrics.set_index(["arm", "metric"]).loc[("zeta-base", "pre_shock_hashrate")]
    unit = next(u for u in ("EH/s", "PH/s", "TH/s") if f" {u} " in pre)
    scale = {"EH/s": 1e18, "PH/s": 1e15, "TH/s": 1e12}[unit]
    assert 1 <= value["mean"] / scale < 1000
    assert pre.split()[1] == _g(value["mean"] / scale)
    assert pre.rstrip().endswith("n=3")
