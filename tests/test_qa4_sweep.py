"""Defects found by a QA pass of sweeps at a laptop's scale, each pinned by a test.

- a resume by other versions (numpy, hashsim's code) mixed its runs with the kept ones
  silently, and the manifest forgot the versions that made the kept runs;
- `compare --by-sample` paired design points by their number alone: two designs of other
  points (an `lhs` of another seed) were compared point by point as if they were the same;
- `summarize --by-sample` left the arms' differences pooled over the design points, and
  printed every design point's block under one unnamed header;
- Ctrl-C of a `--scheduler local` sweep printed a KeyboardInterrupt traceback per Dask worker.

(The automatic batch size of a sweep of many design points is pinned in test_batch.py.)
Runs are the tutorial world cut to two months, in process: a fraction of a second each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments import runner
from sim.experiments.plan import prepare
from tests.test_experiments import TUTORIAL, _sweep, _write
from tests.test_qa_sweep import SMALL as QA_SMALL

SMALL = QA_SMALL.replace("name: qa\n", "name: qa4\n", 1)  # the earlier pass's small sweep


# ---------------------------------------------------------------------------- resume


def _half_done(tmp_path: Path) -> Path:
    """A complete two-run sweep with one run's shard gone, as after an interruption."""
    out = tmp_path / "out"
    runner.run_sweep(prepare(_write(tmp_path, SMALL)), out, jobs=1)
    shutil.rmtree(out / "shards" / "s000001")
    return out


def test_a_resume_by_other_versions_warns_and_keeps_the_earlier_ones(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _half_done(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    old = {**manifest["versions"], "numpy": "1.26.4"}
    manifest.update(versions=old, git_commit="0" * 40)
    (out / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    report = runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    assert (report.ran, report.skipped) == (1, 1)
    err = capsys.readouterr().err
    assert "the 1 runs kept from before were made with other versions" in err
    assert "numpy 1.26.4 (here " in err and f"git commit {'0' * 40} (here " in err
    after = json.loads((out / "manifest.json").read_text())
    assert after["earlier_versions"] == [{"versions": old, "git_commit": "0" * 40}]
    assert after["versions"]["numpy"] != "1.26.4"
    # a second resume keeps the record (and warns no more when it runs nothing)
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    assert "other versions" not in capsys.readouterr().err
    again = json.loads((out / "manifest.json").read_text())
    assert again["earlier_versions"] == after["earlier_versions"]


def test_a_resume_keeps_runs_of_a_version_without_decisions_csv(tmp_path: Path) -> None:
    """A sweep begun before decisions.csv existed failed to resume: combining the tables
    stopped at the kept run's missing decisions.csv (No such file or directory)."""
    out = _half_done(tmp_path)
    for kept in (out / "shards" / "s000000").rglob("decisions.csv"):
        kept.unlink()
    report = runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    assert (report.ran, report.skipped) == (1, 1)
    decisions = pd.read_csv(out / "decisions.csv")
    assert set(decisions["sample"]) == {1}  # the kept run adds no rows, the new one its own
    network = pd.read_csv(out / "network.csv")
    assert set(network["sample"]) == {0, 1}


def test_a_resume_by_the_same_versions_says_nothing(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = _half_done(tmp_path)
    capsys.readouterr()
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    assert "other versions" not in capsys.readouterr().err
    assert "earlier_versions" not in json.loads((out / "manifest.json").read_text())


def test_the_manifest_lists_every_attempt(tmp_path: Path) -> None:
    """After a resume, executor and wall_time_s described the last attempt alone: a resume
    that ran nothing recorded a sweep of 0.05 s in process. `attempts` lists each attempt's
    runs, executor, end and wall time (a manifest from before, without it, as one attempt)."""
    out = _half_done(tmp_path)
    first = json.loads((out / "manifest.json").read_text())
    assert [a["ran"] for a in first["attempts"]] == [2]
    assert first["attempts"][0]["status"] == "complete"
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)  # runs nothing
    attempts = json.loads((out / "manifest.json").read_text())["attempts"]
    assert [a["ran"] for a in attempts] == [2, 1, 0]
    assert all(a["executor"] and a["wall_time_s"] >= 0 for a in attempts)
    assert attempts[0] == first["attempts"][0]
    # a manifest without attempts (an earlier version's) counts as one attempt
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["attempts"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(out / "shards" / "s000001")
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    attempts = json.loads((out / "manifest.json").read_text())["attempts"]
    assert len(attempts) == 2 and "ran" not in attempts[0] and attempts[1]["ran"] == 1


def test_a_resume_keeps_the_other_workers_of_an_earlier_attempt(tmp_path: Path) -> None:
    out = _half_done(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    elsewhere = {**manifest["versions"], "numpy": "1.0.0"}
    (out / "manifest.json").write_text(json.dumps({**manifest, "worker_versions": [elsewhere]}))
    runner.run_sweep(prepare(tmp_path / "exp.yaml"), out, jobs=1, resume=True)
    assert json.loads((out / "manifest.json").read_text())["worker_versions"] == [elsewhere]


# ---------------------------------------------------------------------------- --by-sample

LHS = f"""\
name: qa4-lhs
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
parameters:
  risk_aversion: {{path: behaviour.risk_aversion, low: 1.0, high: 3.0}}
design: {{kind: lhs, samples: 2}}
replicates: 1
seed: 5
"""

ARMS = f"""\
name: qa4-arms
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
arms:
  ban: {{}}
  no-ban: {{set: {{policies: []}}}}
parameters:
  risk_aversion: {{path: behaviour.risk_aversion, values: [1.0, 3.0]}}
replicates: 2
seed: 5
"""


def test_compare_by_sample_refuses_designs_of_other_points(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sim.commands.experiments import compare

    exp = _write(tmp_path, LHS)
    for seed in ("5", "6"):  # another seed: another lhs
        code, out = _sweep(exp, "-o", tmp_path / seed, "--seed", seed, "-q")
        assert code == 0, out
    a, b = (pd.read_csv(tmp_path / s / "samples.csv") for s in ("5", "6"))
    assert not a.equals(b)
    result = CliRunner().invoke(compare, [str(tmp_path / "5"), str(tmp_path / "6"),
                                          "--by-sample"])
    assert result.exit_code == 3, result.output
    assert "--by-sample pairs design points by their number, but A's and B's are other " \
           "points: sample 0 has risk_aversion = " in result.output
    assert "Traceback" not in result.output
    # the same design is compared point by point; without --by-sample, any two sweeps are
    same = CliRunner().invoke(compare, [str(tmp_path / "5"), str(tmp_path / "5"),
                                        "--by-sample"])
    assert same.exit_code == 0, same.output
    pooled = CliRunner().invoke(compare, [str(tmp_path / "5"), str(tmp_path / "6")])
    assert pooled.exit_code == 0, pooled.output


def test_summarize_by_sample_gives_the_differences_per_design_point(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sim.commands.experiments import summarize

    code, out = _sweep(_write(tmp_path, ARMS), "-o", tmp_path / "out", "-q")
    assert code == 0, out
    result = CliRunner().invoke(summarize, [str(tmp_path / "out"), "--by-sample"])
    assert result.exit_code == 0, result.output
    diffs = pd.read_csv(tmp_path / "out" / "ensemble_differences.csv")
    # each design point's parameters beside its number (an analyst had to join samples.csv)
    assert list(diffs.columns[:4]) == ["arm", "reference", "sample", "param_risk_aversion"]
    for name in ("metrics", "series"):
        table = pd.read_csv(tmp_path / "out" / f"ensemble_{name}.csv")
        assert list(table.columns[:3]) == ["arm", "sample", "param_risk_aversion"]
        assert (table["param_risk_aversion"] == table["sample"].map({0: 1.0, 1: 3.0})).all()
    drop = diffs[diffs["metric"] == "drop"]
    assert list(drop["sample"]) == [0, 1] and list(drop["n"]) == [2, 2]
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    drops = summary[summary["metric"] == "drop"].pivot_table(
        index=["sample", "replicate"], columns="arm", values="value")
    expected = (drops["no-ban"] - drops["ban"]).groupby("sample").mean()
    assert drop["mean_diff"].to_numpy() == pytest.approx(expected.to_numpy())
    # the printout names the design point of each block
    for s in (0, 1):
        assert f"ban · sample {s} · TUT   mean" in result.output
        assert f"no-ban − ban · sample {s} · TUT, paired by replicate" in result.output
    # without --by-sample: pooled, as before
    CliRunner().invoke(summarize, [str(tmp_path / "out"), "-q"])
    pooled = pd.read_csv(tmp_path / "out" / "ensemble_differences.csv")
    assert "sample" not in pooled.columns
    assert int(pooled.loc[pooled["metric"] == "drop", "n"].iloc[0]) == 4


# ---------------------------------------------------------------------------- Ctrl-C

def test_the_workers_of_a_local_dask_cluster_leave_ctrl_c_to_the_sweep() -> None:
    """A terminal's Ctrl-C reaches every process of the sweep: each Dask worker printed a
    30-line KeyboardInterrupt traceback above the sweep's own "interrupted" line. They now
    ignore it (the sweep closes the cluster), and the sweep's own handler is back."""
    import signal

    pytest.importorskip("distributed")
    from sim.experiments.executors import Pool

    before = signal.getsignal(signal.SIGINT)
    with Pool(1, "local", 5) as pool:
        assert signal.getsignal(signal.SIGINT) is before
        ignored = pool.executor.submit(
            lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN).result(timeout=60)
    assert ignored is True
