"""Experiments: designs, sweeps on every executor, resume, failures, CRN, bad files, summaries.

Runs are the tutorial world cut to four months (``end: 2021-04-30``: the announcement and the
first month of the ban), a tenth of a second each.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from sim.commands.experiments import summarize, sweep
from sim.experiments import design as design_mod
from sim.experiments.executors import SMALL_JOB, InlineExecutor, Pool
from sim.experiments.plan import prepare, yaml_value
from sim.experiments.runner import FAULTS_ENV
from sim.experiments.spec import Grid, Halton, Lhs, Morris, Parameter, Sobol, Zip
from sim.results import TABLES

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"

EXPERIMENT = f"""\
name: small
scenario: {TUTORIAL}
set: {{end: 2021-04-30}}
arms:
  ban: {{}}
  no-ban: {{set: {{policies: []}}}}
parameters:
  hazard: {{path: policies.ban.hazard_per_day, values: [0.02, 0.1], arms: [ban]}}
  risk_aversion: {{path: behaviour.risk_aversion, low: 1.0, high: 3.0, levels: 2}}
design: grid
replicates: 2
seed: 7
"""


def _write(tmp_path: Path, text: str = EXPERIMENT, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _sweep(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(sweep, [str(a) for a in args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _tables(directory: Path) -> dict[str, bytes]:
    return {name: (directory / f"{name}.csv").read_bytes() for name in (*TABLES, "samples")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small experiment run in process: the tables every other way must reproduce."""
    tmp = tmp_path_factory.mktemp("reference")
    code, out = _sweep(_write(tmp), "-o", tmp / "out", "-j", "1", "-q")
    assert code == 0, out
    return tmp / "out"


# ---------------------------------------------------------------------------- designs


def _params(**kw: dict) -> dict[str, Parameter]:
    return {n: Parameter(path=n, **p) for n, p in kw.items()}


def test_grid_is_every_combination_last_fastest() -> None:
    d = design_mod.build(_params(a={"values": [1, 2]}, b={"low": 0, "high": 1, "levels": 3}),
                         Grid(kind="grid"), 0)
    assert [(v["a"], v["b"]) for v in d.values] == [
        (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.0), (2, 0.5), (2, 1.0)]


def test_zip_pairs_the_ith_values() -> None:
    d = design_mod.build(_params(a={"values": [1, 2, 3]}, b={"values": ["x", "y", "z"]}),
                         Zip(kind="zip"), 0)
    assert [(v["a"], v["b"]) for v in d.values] == [(1, "x"), (2, "y"), (3, "z")]


@pytest.mark.parametrize("spec", [Lhs(kind="lhs", samples=16), Halton(kind="halton", samples=16)])
def test_random_designs_are_deterministic_and_inside(spec: Lhs | Halton) -> None:
    params = _params(a={"low": 1, "high": 100, "scale": "log"}, b={"values": ["x", "y"]},
                     c={"low": 0, "high": 10, "integer": True})
    one, two = design_mod.build(params, spec, 3), design_mod.build(params, spec, 3)
    other = design_mod.build(params, spec, 4)
    assert one.values == two.values and one.values != other.values
    assert all(1 <= v["a"] <= 100 and v["b"] in ("x", "y") and isinstance(v["c"], int)
               for v in one.values)
    if spec.kind == "lhs":  # one point in each of the 16 strata of every dimension
        assert sorted((one.unit[:, 0] * 16).astype(int).tolist()) == list(range(16))


def test_sobol_design_layout() -> None:
    d = design_mod.build(_params(a={"low": 0, "high": 1}, b={"low": 0, "high": 1}),
                         Sobol(kind="sobol", base_samples=8), 1)
    assert d.unit is not None and d.num_samples == 8 * 4
    blocks = d.unit.reshape(8, 4, 2)
    a, b = blocks[:, 0], blocks[:, 3]
    np.testing.assert_array_equal(blocks[:, 1], np.column_stack([b[:, 0], a[:, 1]]))
    np.testing.assert_array_equal(blocks[:, 2], np.column_stack([a[:, 0], b[:, 1]]))


def test_morris_trajectories_move_one_parameter_by_delta() -> None:
    d = design_mod.build(_params(a={"low": 0, "high": 1}, b={"low": 0, "high": 1},
                                 c={"low": 0, "high": 1}),
                         Morris(kind="morris", trajectories=5, levels=4), 2)
    assert d.unit is not None
    traj = d.unit.reshape(5, 4, 3)
    delta = d.info["delta"]
    assert delta == pytest.approx(2 / 3)
    for t, steps in enumerate(d.info["steps"]):
        assert sorted(steps[0::2]) == [0, 1, 2]
        for k in range(3):
            jump = traj[t, k + 1] - traj[t, k]
            j, sign = steps[2 * k], steps[2 * k + 1]
            assert jump[j] == pytest.approx(sign * delta)
            assert np.count_nonzero(jump) == 1
    levels = np.round(d.unit * 3, 9)
    assert np.all(levels == np.round(levels))  # every point on the 4-level grid


@pytest.mark.parametrize("value", [0.1, 1e-05, 3, -2.5, True, None, "a b: c", [1, "x"],
                                   {"kind": "constant", "usd": 1000.0}, math.inf])
def test_override_values_read_back_the_same(value: object) -> None:
    assert YAML(typ="safe").load(yaml_value(value)) == value


# ---------------------------------------------------------------------------- sweeps


def test_combined_tables_have_key_columns_first(reference: Path) -> None:
    network = pd.read_csv(reference / "network.csv")
    assert list(network.columns[:5]) == ["sample", "arm", "replicate", "param_hazard",
                                         "param_risk_aversion"]
    runs = network[["sample", "arm", "replicate"]].drop_duplicates()
    assert len(runs) == 4 * 2 * 2
    # the hazard applies to the ban arm only: no value where it did not apply
    assert network.loc[network["arm"] == "no-ban", "param_hazard"].isna().all()
    samples = pd.read_csv(reference / "samples.csv")
    assert list(samples.columns) == ["sample", "param_hazard", "param_risk_aversion"]
    assert len(samples) == 4
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["num_tasks"] == 16
    assert manifest["failed"] == [] and manifest["seed"] == 7
    assert not (reference / "errors").exists()


def test_j1_and_j2_give_identical_tables(reference: Path, tmp_path: Path) -> None:
    code, out = _sweep(_write(tmp_path), "-o", tmp_path / "out", "-j", "2", "-q")
    assert code == 0, out
    assert "process pool of 2 workers" in out
    assert _tables(tmp_path / "out") == _tables(reference)


def test_dask_local_cluster_gives_identical_tables(reference: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    code, out = _sweep(_write(tmp_path), "-o", tmp_path / "out", "-j", "2", "--scheduler",
                       "local", "-q")
    assert code == 0, out
    assert "Dask LocalCluster" in out
    assert _tables(tmp_path / "out") == _tables(reference)


def test_parquet_holds_the_same_tables(reference: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    code, out = _sweep(_write(tmp_path), "-o", tmp_path / "out", "-j", "1", "--format",
                       "parquet", "-q")
    assert code == 0, out
    for name in ("network", "summary", "flows"):
        pq = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        csv = pd.read_csv(reference / f"{name}.csv")
        pq["date"] = pq["date"].astype(str).replace("", np.nan)
        csv["date"] = csv["date"].astype(str).replace("nan", np.nan)
        pd.testing.assert_frame_equal(pq, csv, check_dtype=False)


def test_killed_sweep_resumes_to_identical_tables(reference: Path, tmp_path: Path) -> None:
    """SIGKILL the whole sweep at its 7th run; --resume then equals an uninterrupted run."""
    exp, out = _write(tmp_path), tmp_path / "out"
    cmd = [sys.executable, "-c", "from sim.commands.experiments import sweep; sweep()",
           str(exp), "-o", str(out), "-j", "1", "-q"]
    env = {**os.environ, FAULTS_ENV: "kill@s000001-no-ban-r000000"}
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    shards = sorted(p.relative_to(out).as_posix() for p in out.glob("shards/*/*/*"))
    assert len(shards) == 6  # runs go in order (sample, arm, replicate): the 7th killed it
    assert not (out / "network.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    code, text = _sweep(exp, "-o", out, "-j", "2", "--resume", "-q")
    assert code == 0, text
    assert "10 ran, 6 kept from before" in text
    assert _tables(out) == _tables(reference)


def test_failed_runs_are_recorded_and_the_rest_carry_on(reference: Path, tmp_path: Path
                                                         ) -> None:
    """A run that raises and a worker process killed by a run: exit 4, nothing else lost."""
    exp, out = _write(tmp_path), tmp_path / "out"
    faults = "raise@s000000-ban-r000001,kill@s000002-no-ban-r000000"
    code, text = _sweep(exp, "-o", out, "-j", "2", "-q", env={FAULTS_ENV: faults})
    assert code == 4, text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    failed = {(f["sample"], f["arm"], f["replicate"]): f for f in manifest["failed"]}
    assert set(failed) == {(0, "ban", 1), (2, "no-ban", 0)}
    raised = (out / failed[0, "ban", 1]["error"]).read_text()
    assert "Traceback" in raised and "RuntimeError: injected fault" in raised
    assert "worker process died" in (out / failed[2, "no-ban", 0]["error"]).read_text()
    network = pd.read_csv(out / "network.csv")
    assert len(network[["sample", "arm", "replicate"]].drop_duplicates()) == 14
    code, text = _sweep(exp, "-o", out, "-j", "2", "--resume", "-q")
    assert code == 0, text
    assert _tables(out) == _tables(reference)
    assert not (out / "errors").exists()


def test_arms_share_random_numbers(tmp_path: Path) -> None:
    """Replicate k of two identical arms is the same run; replicates differ."""
    text = f"""\
name: crn
scenario: {TUTORIAL}
set: {{end: 2021-04-30}}
arms: {{a: {{}}, b: {{}}}}
replicates: 2
seed: 11
"""
    code, out = _sweep(_write(tmp_path, text), "-o", tmp_path / "out", "-j", "1", "-q")
    assert code == 0, out
    net = pd.read_csv(tmp_path / "out" / "network.csv")
    a, b = (net[net["arm"] == arm].drop(columns="arm").reset_index(drop=True) for arm in "ab")
    pd.testing.assert_frame_equal(a, b)
    reps = [a[a["replicate"] == k]["blocks"].to_numpy() for k in (0, 1)]
    assert not np.array_equal(*reps)


def test_crn_all_shares_streams_across_design_points(tmp_path: Path) -> None:
    text = f"""\
name: crn-all
scenario: {TUTORIAL}
set: {{end: 2021-02-28, shock_date: null}}
parameters: {{x: {{path: description, values: [one, two]}}}}
crn: all
seed: 3
"""
    code, out = _sweep(_write(tmp_path, text), "-o", tmp_path / "out", "-j", "1", "-q")
    assert code == 0, out
    net = pd.read_csv(tmp_path / "out" / "network.csv")
    blocks = [net[net["sample"] == s]["blocks"].to_numpy() for s in (0, 1)]
    np.testing.assert_array_equal(*blocks)


def test_existing_folder_needs_resume_or_force(reference: Path, tmp_path: Path) -> None:
    exp = _write(tmp_path)
    code, text = _sweep(exp, "-o", reference, "-q")
    assert code == 2 and "--resume" in text
    other = _write(tmp_path, EXPERIMENT.replace("seed: 7", "seed: 8"), "other.yaml")
    code, text = _sweep(other, "-o", reference, "--resume", "-q")
    assert code == 2 and "different experiment" in text
    code, text = _sweep(exp, "-o", reference, "--resume", "-q")  # nothing left to run
    assert code == 0 and "0 ran, 16 kept" in text


def test_a_drawn_seed_is_kept_on_resume(tmp_path: Path) -> None:
    text = (f"name: drawn\nscenario: {TUTORIAL}\n"
            "set: {end: 2021-01-31, seed: null, shock_date: null}\n")
    exp, out = _write(tmp_path, text), tmp_path / "out"
    code, first = _sweep(exp, "-o", out, "-q")
    assert code == 0, first
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed_source"] == "drawn"
    code, again = _sweep(exp, "-o", out, "--resume", "-q")
    assert code == 0 and "0 ran, 1 kept" in again
    assert f"seed {manifest['seed']})" in again
    resumed = json.loads((out / "manifest.json").read_text())
    assert resumed["seed_source"] == "drawn"  # (the resume was given the seed: still drawn)
    assert resumed["command"] == manifest["command"] and len(resumed["resumed"]) == 1


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    code, text = _sweep(_write(tmp_path), "-o", tmp_path / "out", "--dry-run")
    assert code == 0 and "= 16 runs" in text
    assert not (tmp_path / "out").exists()


def test_small_jobs_stay_in_process() -> None:
    assert isinstance(Pool(4, None, SMALL_JOB).executor, InlineExecutor)
    with Pool(2, None, SMALL_JOB + 1) as pool:
        assert pool.description == "process pool of 2 workers" and pool.window == 4


# ---------------------------------------------------------------------------- bad files


BAD = [
    ("name: x\nscenario: tutorial\nreplicates: 0\nseedd: 3\n",
     ["exp.yaml:3:13: replicates:", "exp.yaml:4:1: seedd: unknown key; did you mean 'seed'?"]),
    ("name: x\nscenario: nowhere.yaml\n",
     ["exp.yaml:2:11: scenario: scenario file not found: nowhere.yaml"]),
    ("name: x\nscenario: tutorial\ndesign: grd\n",
     ["exp.yaml:3:9: design: unknown design 'grd'; did you mean 'grid'?"]),
    ("name: x\nscenario: tutorial\ndesign: {kind: lhs}\n",
     ["exp.yaml:3:9: design.samples: required field is missing"]),
    ("name: x\nscenario: tutorial\nparameters:\n  a: {path: behaviour.risk_aversion, "
     "values: [1], arms: [bann]}\n",
     ["exp.yaml:4:58: parameters.a.arms.0: no arm named 'bann'; arms are: base"]),
    ("name: x\nscenario: tutorial\nparameters:\n  a: {path: behaviour.risk_aversion, "
     "low: -1, high: 2, levels: 2}\n",
     ["exp.yaml:4:43: parameters.a.low: with a = -1.0 in arm 'base': behaviour.risk_aversion:"]),
    ("name: x\nscenario: tutorial\narms:\n  a: {set: {behaviour.nope: 1}}\n",
     ["exp.yaml:4:29: arms.a.set.behaviour.nope: in arm 'a': behaviour.nope: unknown key"]),
    ("name: x\nscenario: tutorial\nparameters:\n  a: {values: [1, 2]}\n  b: {values: [1]}\n"
     "design: zip\n", ["exp.yaml:6:9: design: a zip design pairs the i-th values"]),
    ("name: x\nscenario: tutorial\nparameters:\n  a: {path: behaviour.risk_aversion, "
     "values: [1, 2]}\ndesign: {kind: sobol, base_samples: 6}\n",
     ["exp.yaml:5:1: design: base_samples must be a power of 2"]),
    ("name: x\nname: y\n", ["exp.yaml:2:1: (document): invalid YAML: found duplicate key"]),
    ("- just a list\n", ["expected a mapping"]),
]


@pytest.mark.parametrize(("text", "messages"), BAD)
def test_bad_experiment_files_exit_3_and_write_nothing(tmp_path: Path, text: str,
                                                        messages: list[str]) -> None:
    out = tmp_path / "out"
    code, output = _sweep(_write(tmp_path, text), "-o", out, "-q")
    assert code == 3, output
    for message in messages:
        assert message in output
    assert "Traceback" not in output and "invalid experiment" in output
    assert not out.exists()


def test_bundled_experiments_validate() -> None:
    plan = prepare(ROOT / "scenarios" / "experiments" / "tutorial-sweep.yaml")
    assert plan.num_tasks == 24 and [a.name for a in plan.arms] == ["ban", "no-ban"]
    china = ROOT / "scenarios" / "experiments" / "china-2021-arms.yaml"
    if (ROOT / "scenarios" / "china-2021.yaml").exists():
        plan = prepare(china)
        assert [a.name for a in plan.arms] == ["ban", "no-ban"]
    iran = ROOT / "scenarios" / "experiments" / "iran-2021-arms.yaml"
    if (ROOT / "scenarios" / "iran-2021.yaml").exists():
        plan = prepare(iran)
        assert [a.name for a in plan.arms] == ["ban", "no-ban", "no-announced-end"]
        assert plan.num_tasks == 30


# ---------------------------------------------------------------------------- summaries


def test_summarize_bands_statistics_and_paired_differences(reference: Path,
                                                          tmp_path: Path) -> None:
    result = CliRunner().invoke(summarize, [str(reference), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no-ban − ban" in result.output
    series = pd.read_csv(tmp_path / "ensemble_series.csv")
    assert list(series.columns) == ["arm", "coin", "series", "date", "n", "p05", "median",
                                    "p95", "mean"]
    hashrate = series[(series["series"] == "hashrate_hs") & (series["arm"] == "ban")]
    assert len(hashrate) == 120 and (hashrate["n"] == 8).all()
    assert (hashrate["p05"] <= hashrate["median"]).all()
    assert (hashrate["median"] <= hashrate["p95"]).all()
    metrics = pd.read_csv(tmp_path / "ensemble_metrics.csv")
    drop = metrics[(metrics["arm"] == "ban") & (metrics["metric"] == "drop")].iloc[0]
    values = pd.read_csv(reference / "summary.csv").query("arm == 'ban' and metric == 'drop'")
    assert drop["n"] == 8 and drop["mean"] == pytest.approx(values["value"].mean())
    assert drop["ci_low"] < drop["mean"] < drop["ci_high"]
    diffs = pd.read_csv(tmp_path / "ensemble_differences.csv")
    assert set(diffs["arm"]) == {"no-ban"} and set(diffs["reference"]) == {"ban"}
    assert (diffs["n"] == 8).all()


def test_summarize_a_plain_run_with_replicates(tmp_path: Path) -> None:
    import sim

    scenario = sim.load(TUTORIAL, ["end=2021-03-31"])
    sim.run(scenario, seed=1, replicates=3).write(tmp_path / "run")
    result = CliRunner().invoke(summarize, [str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(tmp_path / "run" / "ensemble_metrics.csv")
    assert set(metrics["arm"]) == {"run"} and (metrics["n"] + metrics["n_missing"] == 3).all()


def test_sigterm_stops_the_sweep_and_its_workers(tmp_path: Path) -> None:
    """`kill` / `timeout` / a batch scheduler (SIGTERM to the sweep alone) acts as Ctrl-C:
    exit 130, the manifest says interrupted, and no worker is left running."""
    exp, out = _write(tmp_path), tmp_path / "out"
    cmd = [sys.executable, "-c", "from cli import main; main()", "sweep", str(exp), "-o",
           str(out), "-j", "2", "--batch", "1", "-q"]
    env = {**os.environ, FAULTS_ENV: "hang@*"}  # runs that would not end by themselves
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], text=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if not children.parent.exists():
        pytest.skip("needs Linux's /proc")
    deadline, workers = time.monotonic() + 60, []
    while len(workers) < 2 and time.monotonic() < deadline:  # until both workers run
        time.sleep(0.1)
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
    time.sleep(1.0)  # (their runs started)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted after" in err
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert len(workers) == 2
    time.sleep(0.5)
    for pid in workers:  # gone, or dead and waiting to be reaped
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split(") ")[1].startswith("Z")


def test_a_sweep_keeps_its_scenario_files_and_can_be_repeated_from_them(reference: Path,
                                                                        tmp_path: Path) -> None:
    """The arms' scenario file is kept in the folder as run; after the file changes, the
    experiment pointed at that copy repeats the sweep."""
    manifest = json.loads((reference / "manifest.json").read_text())
    copies = {arm["scenario_copy"] for arm in manifest["arms"].values()}
    assert len(copies) == 1  # (both arms run the tutorial: one copy)
    kept = reference / copies.pop()
    assert kept.read_bytes() == TUTORIAL.read_bytes()
    mine = tmp_path / "tutorial.yaml"
    mine.write_bytes(TUTORIAL.read_bytes())
    exp = _write(tmp_path, EXPERIMENT.replace(str(TUTORIAL), str(mine)))
    mine.write_text(mine.read_text().replace("rigs: 12000", "rigs: 13000"))
    code, text = _sweep(exp, "-o", tmp_path / "changed", "-q")  # (the file has moved on)
    assert code == 0, text
    assert _tables(tmp_path / "changed") != _tables(reference)
    again = _write(tmp_path, EXPERIMENT.replace(str(TUTORIAL), str(kept)), "again.yaml")
    code, text = _sweep(again, "-o", tmp_path / "again", "-q")
    assert code == 0, text
    assert _tables(tmp_path / "again") == _tables(reference)
