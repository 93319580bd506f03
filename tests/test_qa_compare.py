"""`hashsim compare` refusals and incomplete metrics (QA): a --metric or --arm that selects
nothing, metrics with a value in only some runs, plots without matplotlib, an existing -o."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.commands.experiments import compare
from sim.errors import HashsimError
from sim.experiments import compare as cmp
from sim.experiments.errors import UsageError
from tests.test_compare import _compare, tutorial_runs

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two short tutorial runs of 3 replicates (other behaviour in "other"), and "partial": a
    copy of "a" where `drop` has a value in replicate 0 only (as days_to_recover_90 of runs
    that never recovered)."""
    tmp = tmp_path_factory.mktemp("qa_runs")
    out = tutorial_runs(tmp, ("a", "other"))
    partial = Path(shutil.copytree(out["a"], tmp / "partial"))
    summary = pd.read_csv(partial / "summary.csv")
    summary.loc[(summary["metric"] == "drop") & (summary["replicate"] > 0), "value"] = np.nan
    summary.to_csv(partial / "summary.csv", index=False)
    out["partial"] = partial
    return out


# ---------------------------------------------------------------------------- 1. filters


def test_metric_pattern_that_matches_nothing_is_a_usage_error(runs: dict[str, Path]) -> None:
    code, out = _compare(runs["a"], runs["other"], "--metric", "nosuch", "--fail-above", "1")
    assert code == 2, out
    assert "--metric 'nosuch' matches no metric or series" in out and "check passed" not in out
    assert "there are: " in out and "drop" in out and "hashrate_hs" in out
    code, out = _compare(runs["a"], runs["other"], "--metric", "dorp", "--fail-above", "1")
    assert code == 2 and "did you mean drop?" in out, out
    # one good pattern does not excuse a bad one; globs and series names are fine
    code, out = _compare(runs["a"], runs["other"], "--metric", "drop", "--metric", "Drop",
                         "--fail-above", "1000")
    assert code == 2 and "'Drop' matches no metric" in out and "did you mean drop?" in out
    code, out = _compare(runs["a"], runs["other"], "--metric", "final_share.*", "--metric",
                         "hashrate_hs", "--fail-above", "1000")
    assert code == 0 and "check passed" in out, out
    with pytest.raises(UsageError, match="'nosuch' matches no metric"):
        cmp.compare(cmp.load_side(runs["a"]), cmp.load_side(runs["other"]), patterns=["nosuch"])


def test_arm_of_inputs_without_arms_is_a_usage_error(runs: dict[str, Path]) -> None:
    code, out = _compare(runs["a"], runs["other"], "--arm", "ban")
    assert code == 2, out
    assert "--arm ban: the inputs have no arms" in out and "metrics:" not in out
    code, out = _compare(runs["a"] / "summary.csv", runs["other"] / "summary.csv", "--arm", "x")
    assert code == 2 and "have no arms" in out, out


# ---------------------------------------------------------------------------- 2. incomplete


def test_incomplete_metric_is_counted_shown_and_fails_the_check(runs: dict[str, Path],
                                                                tmp_path: Path) -> None:
    code, out = _compare(runs["a"], runs["partial"], "-o", tmp_path / "out", "--no-plots",
                         "--fail-above", "1000")
    assert code == 1, out
    assert "drop" in out and "incomplete (B: 1 of 3 runs)" in out and "check failed" in out
    assert "lack a value in some runs" in out and "coin=TUT drop (B: 1 of 3 runs)" in out
    table = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index("metric")
    assert table.loc["drop", ["a_n", "b_n", "a_runs", "b_runs"]].tolist() == [3, 1, 3, 3]
    assert table.loc["energy", ["a_n", "b_n", "a_runs", "b_runs"]].tolist() == [3, 3, 3, 3]
    # only the metrics --metric picks count
    code, out = _compare(runs["a"], runs["partial"], "--metric", "energy", "--fail-above", "0")
    assert code == 0 and "check passed" in out, out
    # the same runs missing on both sides: compared as usual, still noted
    code, out = _compare(runs["partial"], runs["partial"], "--fail-above", "0")
    assert code == 0 and "check passed" in out, out
    assert "drop (A: 1 of 3 runs, B: 1 of 3 runs)" in out


def test_runs_are_counted_per_arm_even_where_rows_are_missing() -> None:
    rows = [{"sample": s, "arm": arm, "replicate": r, "coin": "X", "metric": m, "value": 1.0,
             "unit": ""} for arm in ("p", "q") for s in (0, 1) for r in (0, 1)
            for m in ("m", "k")]
    a = pd.DataFrame(rows)
    b = a.copy()
    b.loc[(b["arm"] == "q") & (b["metric"] == "m") & (b["replicate"] == 1), "value"] = np.nan
    b = b.drop(b.index[(b["arm"] == "q") & (b["metric"] == "k") & (b["sample"] == 0)])
    df = cmp.compare_metrics(a, b).set_index(["arm", "metric"])
    assert df.loc[("p", "m"), ["a_n", "b_n", "a_runs", "b_runs"]].tolist() == [4, 4, 4, 4]
    assert df.loc[("q", "m"), ["b_n", "b_runs"]].tolist() == [2, 4]
    assert df.loc[("q", "k"), ["b_n", "b_runs"]].tolist() == [2, 4]
    comparison = cmp.Comparison(cmp.Side(Path("a"), "table"), cmp.Side(Path("b"), "table"), [],
                                df.reset_index(), pd.DataFrame(), [])
    over = comparison.exceeding(50)
    assert len(over) == 2 and all("incomplete (B: 2 of 4 runs)" in line for line in over)
    # a table without run columns: each row of a metric is a run
    plain = pd.DataFrame({"metric": ["m", "m", "m", "k", "k", "k"],
                          "value": [1.0, 2.0, np.nan, 1.0, 2.0, 3.0]})
    df = cmp.compare_metrics(plain, plain).set_index("metric")
    assert df.loc["m", ["a_n", "a_runs"]].tolist() == [2, 3]


# ---------------------------------------------------------------------------- 3. matplotlib


def test_plots_without_matplotlib_exit_2_and_write_nothing(runs: dict[str, Path],
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    code, out = _compare(runs["a"], runs["other"], "-o", tmp_path / "out")
    assert code == 2, out
    assert "plots need matplotlib" in out and "--no-plots" in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()
    code, out = _compare(runs["a"], runs["other"], "-o", tmp_path / "out", "--no-plots")
    assert code == 0, out
    assert (tmp_path / "out" / "comparison.csv").is_file()
    assert not list((tmp_path / "out").glob("*.png"))
    # two summary tables have no series to plot: no matplotlib needed
    code, out = _compare(runs["a"] / "summary.csv", runs["other"] / "summary.csv", "-o",
                         tmp_path / "tables")
    assert code == 0 and (tmp_path / "tables" / "comparison.csv").is_file(), out


# ---------------------------------------------------------------------------- 4. existing -o


def test_existing_output_is_refused_unless_force(runs: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()  # an empty folder is fine
    code, out = _compare(runs["a"], runs["other"], "-o", out_dir, "--no-plots")
    assert code == 0 and (out_dir / "comparison.csv").is_file(), out
    (out_dir / "comparison.csv").write_text("mine\n")
    (out_dir / "keep.txt").write_text("not the comparison's\n")
    code, out = _compare(runs["a"], runs["other"], "-o", out_dir, "--no-plots")
    assert code == 2, out
    assert f"{out_dir} exists; use --force" in out
    assert (out_dir / "comparison.csv").read_text() == "mine\n"
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a folder"):
        cmp.check_output(tmp_path / "file")
    # a folder that cannot be made is refused in Python too, before anything is written
    comparison = cmp.compare(cmp.load_side(runs["a"]), cmp.load_side(runs["other"]))
    with pytest.raises(HashsimError, match=r"cannot create comparison folder .*is a file"):
        cmp.write(comparison, tmp_path / "file" / "out", plots=False)
    # force replaces the comparison's own files (a stale overlay too), nothing else
    (out_dir / "overlay_OLD_hashrate_hs.png").write_bytes(b"")
    comparison = cmp.compare(cmp.load_side(runs["a"]), cmp.load_side(runs["other"]))
    written = cmp.write(comparison, out_dir, plots=False, force=True)
    assert out_dir / "comparison.csv" in written
    assert (out_dir / "comparison.csv").read_text().startswith("coin,metric")
    assert not (out_dir / "overlay_OLD_hashrate_hs.png").exists()
    assert (out_dir / "keep.txt").read_text() == "not the comparison's\n"


def test_force_option_of_the_command(runs: dict[str, Path], tmp_path: Path) -> None:
    if not any("--force" in p.opts for p in compare.params):
        pytest.skip("the compare command has no --force yet (sim/commands/experiments.py)")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "comparison.csv").write_text("mine\n")
    code, out = _compare(runs["a"], runs["other"], "-o", out_dir, "--no-plots", "--force")
    assert code == 0, out
    assert (out_dir / "comparison.csv").read_text().startswith("coin,metric")


def test_overlay_axes_read_in_display_units() -> None:
    """The overlay of a hashrate showed raw H/s: an axis of 1e20 with the scale only in its
    offset. It now reads EH/s … H/s by size, as the run's figures do, and other series in an
    SI multiple."""
    import pandas as pd

    from sim.experiments.compare import _display_scale

    assert _display_scale("hashrate_hs", pd.Series([1.6e20, 9.2e19])) == (1e18, "EH/s")
    assert _display_scale("hashrate_hs", pd.Series([8.0e14, float("nan")])) == (1e12, "TH/s")
    assert _display_scale("difficulty", pd.Series([1.4e13])) == (1e12, "T")
    assert _display_scale("price_usd", pd.Series([400.0])) == (1.0, "")
    for none in ([float("nan")], [float("inf")], []):  # no finite value: unscaled
        assert _display_scale("hashrate_hs", pd.Series(none, dtype=float)) == (1.0, "H/s")


# ---------------------------------------------------------------- 5. a run beside a sweep's arm


def _april_sweep(tmp_path: Path, body: str) -> Path:
    """A sweep of the tutorial cut to April (as the runs of `runs`), with the experiment's
    `body` (arms or parameters, replicates, seed); its results folder."""
    from tests.test_experiments import _sweep, _write

    exp = _write(tmp_path, f"name: beside\nscenario: {TUTORIAL}\nset: {{end: 2021-04-30}}\n"
                 + body)
    code, text = _sweep(exp, "-o", tmp_path / "sweep", "-q")
    assert code == 0, text
    return tmp_path / "sweep"


def test_run_beside_one_arm_of_a_sweep_diffs_the_scenarios(runs: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """A sweep's arm and a run are compared by the scenarios they ran (the arm's copy with
    its overrides, under the sweep's seed), not by the two folders' layouts: the same
    scenario is "identical", an arm that changed one value shows that value alone."""
    _april_sweep(tmp_path, """\
arms:
  base: {description: the tutorial}
  quick: {description: faster decisions, set: {behaviour.decision_rate_per_day: 0.5}}
replicates: 3
seed: 1
""")
    code, out = _compare(tmp_path / "sweep", runs["a"], "--arm", "base")
    assert code == 0, out
    assert "inputs: identical" in out
    assert "draw different random numbers even under the same seed" in out
    code, out = _compare(runs["a"], tmp_path / "sweep", "--arm", "quick")
    assert code == 0, out
    assert "inputs: 2 difference(s)" in out, out  # the value, and so the scenario's hash
    assert "scenario.behaviour.decision_rate_per_day: 0.2 → 0.5" in out
    assert "scenario_hash" in out and "arms." not in out and "experiment" not in out
    # the arm beside the run with the same value set by hand: the same scenario
    code, out = _compare(tmp_path / "sweep", runs["other"], "--arm", "quick")
    assert "inputs: identical" in out, out


def test_sweep_with_parameters_beside_a_run_says_what_compare_can_show(
        runs: dict[str, Path], tmp_path: Path) -> None:
    _april_sweep(tmp_path, """\
parameters:
  rate: {path: behaviour.decision_rate_per_day, values: [0.1, 0.5]}
replicates: 1
seed: 1
""")
    side = cmp.load_side(tmp_path / "sweep", arms=["base"])
    result = cmp.compare(side, cmp.load_side(runs["a"]))  # each design point has its own
    assert any("with one arm (--arm NAME) of a sweep without parameters" in n  # scenario
               for n in result.notes)
    assert any(k.startswith("design.") for k, _, _ in result.input_diff)  # the experiment's


def test_printout_gives_hashrates_in_a_unit_that_reads(runs: dict[str, Path]) -> None:
    """Hashrate metrics and the hashrate series' means print in EH/s … H/s (1 ≤ value <
    1000), not as 1.9e+20 H/s; comparison.csv keeps H/s."""
    code, out = _compare(runs["a"], runs["other"])
    assert code == 0, out
    units = {"EH/s": 1e18, "PH/s": 1e15, "TH/s": 1e12}
    metric = next(line for line in out.splitlines() if "pre_shock_hashrate" in line)
    unit = metric.split()[-1]
    assert unit in units, metric
    a_mean = float(metric.split()[1].replace(",", ""))
    assert 1 <= a_mean < 1000
    a = pd.read_csv(runs["a"] / "summary.csv")
    pre = a.loc[a["metric"] == "pre_shock_hashrate", "value"].mean()
    assert a_mean == pytest.approx(pre / units[unit], rel=1e-3)
    series = next(line for line in out.splitlines() if " hashrate_hs " in line)
    assert series.split()[-1] in units and "e+" not in series, series
    # and a region's revenue over the run in M USD (the table keeps USD)
    revenue = next(line for line in out.splitlines() if "revenue.blue_country" in line)
    assert revenue.rstrip().endswith("M USD"), revenue
    usd = a.loc[a["metric"] == "revenue.blue_country", "value"].mean()
    assert float(revenue.split()[1].replace(",", "")) == pytest.approx(usd / 1e6, rel=1e-3)


def test_sweep_arm_whose_scenario_copy_is_missing_says_so(runs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """A sweep without parameters whose folder lost its copy of the arm's scenario (scenarios/
    not copied along, or a manifest whose arms are not a mapping) was compared by the
    experiment's inputs with a note that told the user to do what they had done ("with one
    arm (--arm NAME) of a sweep without parameters ..."); a manifest whose arms were a list
    was an internal error."""
    import json

    _april_sweep(tmp_path, """\
arms:
  base: {description: the tutorial}
replicates: 1
seed: 1
""")
    shutil.rmtree(tmp_path / "sweep" / "scenarios")
    code, out = _compare(tmp_path / "sweep", runs["a"], "--arm", "base")
    assert code == 0, out
    assert "with one arm (--arm NAME)" not in out
    assert "no readable copy of arm base's scenario" in out, out
    manifest = tmp_path / "sweep" / "manifest.json"
    m = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(m | {"arms": list(m["arms"])}))
    result = cmp.compare(cmp.load_side(tmp_path / "sweep", arms=["base"]),
                         cmp.load_side(runs["a"]))
    assert any("manifest.json does not say how arm base ran" in n for n in result.notes), \
        result.notes


def test_sweep_arm_whose_scenario_copy_does_not_load_says_so(runs: dict[str, Path],
                                                            tmp_path: Path) -> None:
    """A copy of the arm's scenario that is there but does not validate (edited by hand) was
    "no readable copy"; the note gives its first issue. Two sweeps are compared by their
    experiments' inputs: the copy is not read, and no note speaks of it."""
    import json

    sweep = _april_sweep(tmp_path, """\
arms:
  base: {description: the tutorial}
replicates: 1
seed: 1
""")
    m = json.loads((sweep / "manifest.json").read_text())
    copy = sweep / m["arms"]["base"]["scenario_copy"]
    copy.write_text(copy.read_text().replace("\nname:", "\nnmae:", 1))
    code, out = _compare(sweep, runs["a"], "--arm", "base")
    assert code == 0, out
    assert "no readable copy" not in out
    assert "copy of arm base's scenario does not load (" in out, out
    result = cmp.compare(cmp.load_side(sweep, arms=["base"]), cmp.load_side(sweep, arms=["base"]))
    assert not any("scenario" in n for n in result.notes), result.notes
    assert result.input_diff == []


def test_two_sparse_table_files_without_a_row_are_equal(runs: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """Two decisions.csv (or flows.csv) files without a row, as a counterfactual writes, were
    'no date (and key) in common' (exit code 3), the same file beside itself too; as two such
    folders, they are equal."""
    for table in ("decisions", "flows"):
        header = (runs["a"] / f"{table}.csv").read_text().splitlines()[0]
        empty = tmp_path / f"{table}.csv"
        empty.write_text(header + "\n")
        code, out = _compare(empty, empty, "--fail-above", "0")
        assert code == 0 and "check passed" in out, out
        assert "neither side has a row" in out


def test_regions_series_name_a_parent_region_not_its_flag(runs: dict[str, Path]) -> None:
    """compare --table regions labelled every series '· False' (regions.csv's aggregate flag);
    a leaf region is now its name, a parent region "(all its regions)"."""
    code, out = _compare(runs["a"], runs["other"], "--table", "regions")
    assert code == 0, out
    series = [line for line in out.splitlines() if " hashrate_hs " in line]
    assert series and not any("False" in line or "True" in line for line in series), series
    assert any("red_country · (all its regions)" in line for line in series)
    assert any(line.split()[2] == "blue_country" and "(all" not in line for line in series)
