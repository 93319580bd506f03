"""Defects found by a third QA pass of the researcher's paths, each pinned by a test.

- a resume that changes the combined tables removes the ensemble and sensitivity files that
  were computed from the old ones (they were left beside the new tables, stale);
- ``--format parquet`` gives the same tables as CSV: counts stay integers when some runs have
  no rows (a no-ban arm's flows), and an empty text (a metric without a date) is missing;
- ``summarize``, ``compare`` and ``sensitivity`` of a sweep killed before it combined its
  tables name the ``--resume`` command; ``compare`` warns of a sweep's failed runs;
- ``compare`` and ``sensitivity`` state the unit of each metric.

Runs are the tutorial world cut to two months, in process: a fraction of a second each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.commands.experiments import compare, sensitivity, summarize
from sim.experiments.runner import FAULTS_ENV
from sim.results import TABLES
from tests.test_experiments import TUTORIAL, _sweep, _write

ARMS = f"""\
name: qa3
scenario: {TUTORIAL}
set: {{end: 2021-04-30}}
arms:
  ban: {{}}
  no-ban: {{set: {{policies: []}}}}
replicates: 2
seed: 7
"""

MORRIS = f"""\
name: qa3-morris
scenario: {TUTORIAL}
set: {{end: 2021-04-15}}
parameters:
  hazard: {{path: policies.ban.hazard_per_day, low: 0.02, high: 0.2}}
  risk_aversion: {{path: behaviour.risk_aversion, low: 1.0, high: 3.0}}
design: {{kind: morris, trajectories: 2}}
seed: 3
"""



def _invoke(command: object, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])  # type: ignore[arg-type]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def csv_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete sweep of two arms × 2 replicates, CSV."""
    tmp = tmp_path_factory.mktemp("qa3")
    code, out = _sweep(_write(tmp, ARMS), "-o", tmp / "csv", "-j", "1", "-q")
    assert code == 0, out
    return tmp / "csv"


def test_a_resume_removes_the_summaries_of_the_old_tables(tmp_path: Path) -> None:
    exp = _write(tmp_path, ARMS)
    out = tmp_path / "out"
    code, text = _sweep(exp, "-o", out, "-j", "1", "-q",
                        env={FAULTS_ENV: "raise@s000000-ban-r000001"})
    assert code == 4, text
    assert _invoke(summarize, out, "-q")[0] == 0
    (out / "sensitivity_drop.csv").write_text("stale\n")
    stale = pd.read_csv(out / "ensemble_metrics.csv")
    assert stale["n_failed"].max() == 1  # one ban run is missing
    code, text = _sweep(exp, "-o", out, "-j", "1", "-q", "--resume")
    assert code == 0, text
    for name in ("ensemble_series.csv", "ensemble_metrics.csv", "ensemble_differences.csv",
                 "sensitivity_drop.csv"):
        assert not (out / name).exists(), name
        assert name in text
    assert "summarize" in text
    assert _invoke(summarize, out, "-q")[0] == 0
    assert pd.read_csv(out / "ensemble_metrics.csv")["n_failed"].max() == 0


def test_a_resume_with_nothing_to_run_keeps_the_summaries(csv_sweep: Path,
                                                         tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(csv_sweep, folder)
    assert _invoke(summarize, folder, "-q")[0] == 0
    code, text = _sweep(_write(tmp_path, ARMS), "-o", folder, "-j", "1", "-q", "--resume")
    assert code == 0, text
    assert (folder / "ensemble_metrics.csv").is_file() and "removed" not in text


def test_parquet_tables_equal_the_csv_ones(csv_sweep: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    code, text = _sweep(_write(tmp_path, ARMS), "-o", out, "-j", "1", "-q", "--format",
                        "parquet")
    assert code == 0, text
    flows = pd.read_parquet(out / "flows.parquet")
    assert len(flows) and (flows["arm"] == "no-ban").sum() == 0  # the no-ban shards are empty
    for name in TABLES:
        a = pd.read_csv(csv_sweep / f"{name}.csv")
        b = pd.read_parquet(out / f"{name}.parquet")
        b["date"] = b["date"].astype(str).mask(b["date"].isna())
        pd.testing.assert_frame_equal(a, b, obj=name)
    assert _invoke(summarize, out, "-o", tmp_path / "s-pq", "-q")[0] == 0
    assert _invoke(summarize, csv_sweep, "-o", tmp_path / "s-csv", "-q")[0] == 0
    for name in ("ensemble_series", "ensemble_metrics", "ensemble_differences"):
        assert (tmp_path / "s-pq" / f"{name}.csv").read_bytes() == \
            (tmp_path / "s-csv" / f"{name}.csv").read_bytes(), name


def _killed(folder: Path) -> None:
    """Make ``folder`` look like a sweep killed before it combined its tables."""
    for name in TABLES:
        (folder / f"{name}.csv").unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["status"] = "running"
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_an_unfinished_sweep_names_its_resume_command(csv_sweep: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "killed"
    shutil.copytree(csv_sweep, folder)
    _killed(folder)
    for command, args in ((summarize, ()), (compare, (csv_sweep,))):
        code, text = _invoke(command, folder, *args)
        assert code == 3, text
        assert "did not finish" in text and "--resume" in text and "Traceback" not in text


def test_an_unfinished_morris_sweep_names_its_resume_command(tmp_path: Path) -> None:
    out = tmp_path / "m"
    code, text = _sweep(_write(tmp_path, MORRIS), "-o", out, "-j", "1", "-q")
    assert code == 0, text
    code, text = _invoke(sensitivity, out, "--metric", "drop", "--resamples", "50")
    assert code == 0, text
    assert "in % per the parameter's full range" in text
    table = pd.read_csv(out / "sensitivity_drop.csv")
    assert list(table["unit"]) == ["%", "%"]
    _killed(out)
    code, text = _invoke(sensitivity, out, "--metric", "drop")
    assert code == 3 and "--resume" in text, text


def test_compare_states_units_and_warns_of_failed_runs(csv_sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "failed"
    code, text = _sweep(_write(tmp_path, ARMS), "-o", out, "-j", "1", "-q",
                        env={FAULTS_ENV: "raise@s000000-no-ban-r000000"})
    assert code == 4, text
    code, text = _invoke(compare, csv_sweep, out, "--arm", "ban")
    assert code == 0, text
    assert "1 of 4 runs of this sweep failed" in text and "then compare again" in text
    assert "(column n_failed)" not in text
    drop = next(line for line in text.splitlines() if line.strip().startswith("drop "))
    assert drop.rstrip().endswith(" %"), drop
    code, text = _invoke(compare, csv_sweep, csv_sweep)
    assert "failed" not in text


# ---------------------------------------------------------------------------- history


def test_backtest_shows_shares_in_percent(tmp_path: Path) -> None:
    from sim.commands.history import backtest

    code, text = _invoke(backtest, "sparkpool-2021", "-r", "1", "-o", tmp_path / "bt")
    assert code == 0, text
    line = next(x for x in text.splitlines() if x.startswith("share-sparkpool-2021-09-26"))
    assert line.split()[3:5] == ["%", "22.0"], line  # unit and observed (0.22 in the csv)
    table = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert table.loc[table["check"] == "share-sparkpool-2021-09-26", "observed"].item() == 0.22


def test_calibrate_records_what_repeats_the_fit(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.commands import history
    from sim.errors import HashsimError

    out = tmp_path / "cal"
    args = ("sparkpool-2021", "--param", "behaviour.decision_rate_per_day=0.05:0.5",
            "--max-evaluations", "2", "-r", "1", "--seed", "4", "-o", out)
    code, text = _invoke(history.calibrate, *args)
    assert code == 0, text
    doc = json.loads((out / "calibration.json").read_text())
    assert doc["seed"] == 4 and doc["replicates"] == 1 and doc["evaluations"] == 2
    assert len(doc["scenario_sha256"]) == 64 and "--seed 4" in doc["repeat"]
    assert doc["parameters"][0]["value"] == pd.read_csv(out / "fitted.csv")["value"].item()

    def broken(*_: object, **__: object) -> None:
        raise HashsimError("cannot write")

    monkeypatch.setattr("sim.calibrate.write_calibrated", broken)
    code, text = _invoke(history.calibrate, *args[:-1], tmp_path / "again")
    assert code != 0 and "cannot write" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal"]  # no half-written fit left
