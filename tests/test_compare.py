"""`hashsim compare`: inputs diff, metric deltas with intervals, NRMSE, plots, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.commands.experiments import compare, sweep
from sim.experiments import compare as cmp

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"


def tutorial_runs(tmp: Path, names: tuple[str, ...] = ("a", "same", "other")
                  ) -> dict[str, Path]:
    """Short tutorial runs of 3 replicates: a, the same again, and one with other behaviour."""
    base = sim.load(TUTORIAL, ["end=2021-04-30"])
    other = sim.load(TUTORIAL, ["end=2021-04-30", "behaviour.decision_rate_per_day=0.5"])
    worlds = {"a": base, "same": base, "other": other}
    return {name: sim.run(worlds[name], seed=1, replicates=3).write(tmp / name)
            for name in names}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tutorial_runs(tmp_path_factory.mktemp("runs"))


def _compare(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(compare, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_identical_runs_have_no_difference(runs: dict[str, Path]) -> None:
    code, out = _compare(runs["a"], runs["same"], "--fail-above", "0")
    assert code == 0, out
    assert "inputs: identical" in out and "check passed" in out
    comparison = cmp.compare(cmp.load_side(runs["a"]), cmp.load_side(runs["same"]))
    assert (comparison.metrics["delta"].fillna(0) == 0).all()
    assert (comparison.nrmse["nrmse_pct"] == 0).all()


def test_different_runs_show_inputs_deltas_and_intervals(runs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    code, out = _compare(runs["a"], runs["other"], "-o", tmp_path, "--fail-above", "0.01",
                         "--metric", "drop", "--metric", "hashrate_hs")
    assert code == 1, out
    assert "scenario.behaviour.decision_rate_per_day: 0.2 → 0.5" in out
    assert "check failed" in out and "above 0.01 %" in out
    metrics = pd.read_csv(tmp_path / "comparison.csv")
    assert list(metrics.columns) == ["coin", "metric", "unit", "a_mean", "b_mean", "delta",
                                     "delta_pct", "ci_low", "ci_high", "a_n", "b_n",
                                     "a_runs", "b_runs", "confidence"]
    drop = metrics[metrics["metric"] == "drop"].iloc[0]
    a = pd.read_csv(runs["a"] / "summary.csv").query("metric == 'drop'")["value"]
    b = pd.read_csv(runs["other"] / "summary.csv").query("metric == 'drop'")["value"]
    assert drop["delta"] == pytest.approx(b.mean() - a.mean())
    assert drop["delta_pct"] == pytest.approx(100 * (b.mean() - a.mean()) / abs(a.mean()))
    assert drop["ci_low"] <= drop["delta"] <= drop["ci_high"] and drop["a_n"] == 3
    assert drop["a_runs"] == drop["b_runs"] == 3
    nrmse = pd.read_csv(tmp_path / "nrmse.csv")
    hashrate = nrmse[nrmse["series"] == "hashrate_hs"].iloc[0]
    assert hashrate["dates"] == 120 and hashrate["nrmse_pct"] > 0
    assert "decision_rate_per_day" in (tmp_path / "inputs_diff.txt").read_text()
    if pytest.importorskip("matplotlib"):
        assert (tmp_path / "overlay_TUT_hashrate_hs.png").stat().st_size > 5000
    code, out = _compare(runs["a"], runs["other"], "--fail-above", "1000")
    assert code == 0, out


def test_nrmse_by_hand() -> None:
    dates = ["2021-01-01", "2021-01-02", "2021-01-03"]
    a = pd.DataFrame({"date": dates, "coin": "X", "hashrate_hs": [10.0, 10.0, 10.0]})
    b = a.assign(hashrate_hs=[10.0, 13.0, 6.0])
    df = cmp.compare_series(a, b)
    assert df.loc[0, "nrmse_pct"] == pytest.approx(100 * np.sqrt((0 + 9 + 16) / 3) / 10)


def test_inputs_diff_keys_list_items_by_what_they_are(tmp_path: Path) -> None:
    # no-ban-2021 drops China's policies but keeps Iran's lift (no id): keyed by its index it
    # showed as removed (policies.15) and added (policies.2); checks sharing a name hid
    # each other; a section present on one side only showed as absent ('—') there
    lift = {"kind": "lift", "policy": "iran-ban", "date": "2021-09-22", "id": None}
    checks = [{"name": "china", "id": "share-1", "value": 0.2},
              {"name": "china", "id": "share-2", "value": 0.3}]
    a = {"policies": [{"id": "ban", "kind": "mining_ban"}, {"id": "cut"}, lift],
         "observed": {"checks": checks}, "services": [{"name": "binance"}]}
    b = {"policies": [lift], "observed": {"checks": [checks[0], {**checks[1], "value": 0.4}]},
         "services": []}
    diff = cmp.compare(cmp.Side(tmp_path, "run", inputs=cmp._flatten(a)),
                       cmp.Side(tmp_path, "run", inputs=cmp._flatten(b))).input_diff
    keys = {k: (va, vb) for k, va, vb in diff}
    assert not [k for k in keys if "iran" in k or k.startswith("policies.2")], keys
    assert keys["observed.checks.share-2.value"] == (0.3, 0.4)
    assert keys["services"] == ("{…}", [])
    assert keys["policies.ban.kind"] == ("mining_ban", "—")


def test_two_csv_files_of_the_same_table(runs: dict[str, Path]) -> None:
    code, out = _compare(runs["a"] / "summary.csv", runs["other"] / "summary.csv")
    assert code == 0 and "drop" in out
    code, out = _compare(runs["a"] / "regions.csv", runs["other"] / "regions.csv")
    assert code == 0 and "red_country" in out


def test_not_comparable(runs: dict[str, Path], tmp_path: Path) -> None:
    code, out = _compare(runs["a"] / "summary.csv", runs["a"] / "network.csv")
    assert code == 3 and "is a summary table but" in out and "series table" in out
    code, out = _compare(runs["a"], runs["a"] / "summary.csv")
    assert code == 3 and "not a folder with a file" in out
    summary = pd.read_csv(runs["a"] / "summary.csv")
    summary.assign(unit=summary["unit"].replace("%", "fraction")).to_csv(
        tmp_path / "units.csv", index=False)
    code, out = _compare(runs["a"] / "summary.csv", tmp_path / "units.csv")
    assert code == 3 and "units differ: drop ('%' vs 'fraction')" in out
    summary.assign(coin="ETH").to_csv(tmp_path / "coins.csv", index=False)
    code, out = _compare(runs["a"] / "summary.csv", tmp_path / "coins.csv")
    assert code == 3 and "no coin in common: A has TUT, B has ETH" in out
    code, out = _compare(runs["a"], tmp_path)
    assert code == 3 and "not a results folder" in out
    assert "Traceback" not in out


def test_sweeps_compare_per_arm(runs: dict[str, Path], tmp_path: Path) -> None:
    exp = tmp_path / "exp.yaml"
    exp.write_text(f"""\
name: arms
scenario: {TUTORIAL}
set: {{end: 2021-04-30}}
arms: {{ban: {{}}, no-ban: {{set: {{policies: []}}}}}}
replicates: 2
seed: 1
""")
    for name in ("x", "y"):
        result = CliRunner().invoke(sweep, [str(exp), "-o", str(tmp_path / name), "-q"])
        assert result.exit_code == 0, result.output
    code, out = _compare(tmp_path / "x", tmp_path / "y", "--fail-above", "0")
    assert code == 0, out
    assert "ban · TUT" in out and "no-ban · TUT" in out
    code, out = _compare(tmp_path / "x", runs["a"])
    assert code == 3 and "choose one with --arm" in out
    code, out = _compare(tmp_path / "x", runs["a"], "--arm", "ban")
    assert code == 0, out
    assert "experiment.arms.ban" in out or "inputs:" in out
    code, out = _compare(tmp_path / "x", runs["a"], "--arm", "nosuch")
    assert code == 2 and "no arm nosuch; arms are: ban, no-ban" in out, out
    comparison = cmp.compare(cmp.load_side(tmp_path / "x"), cmp.load_side(tmp_path / "y"))
    assert (comparison.metrics["a_runs"] == 2).all() and (comparison.metrics["b_runs"] == 2).all()


def test_flows_are_compared_with_a_missing_row_as_zero(runs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    """flows.csv has rows only where rigs moved: its series were compared on the days both
    sides moved rigs, averaged over the runs that did, which says little about the flows (an
    analyst's pass). A row a run lacks is a zero: every date either side moved rigs, each
    date's mean over every run."""
    code, out = _compare(runs["a"], runs["other"], "--table", "flows", "-o", tmp_path / "c",
                         "--no-plots")
    assert code == 0, out
    got = pd.read_csv(tmp_path / "c" / "nrmse.csv")
    got = got[got["series"] == "rigs_departed"].set_index(["origin", "destination"])
    assert len(got) > 1
    check_sparse_nrmse(got, (runs["a"], runs["other"]), "flows", ["origin", "destination"],
                       "rigs_departed")


def check_sparse_nrmse(got: pd.DataFrame, folders: tuple[Path, Path], table: str,
                       labels: list[str], value: str) -> None:
    """`got` (nrmse.csv's rows of `value`, indexed by `labels`) is the NRMSE of a sparse table
    computed by hand: per date, the sum over every run divided by the number of runs (a row a
    run lacks is a zero), over every date either side has."""
    keys = ["coin", *labels, "date"]
    sides = []
    for folder in folders:
        rows = pd.read_csv(folder / f"{table}.csv")
        replicates = pd.read_csv(folder / "summary.csv")["replicate"].nunique()
        sides.append(rows.groupby(keys)[value].sum() / replicates)
    dates = sides[0].index.union(sides[1].index)
    a, b = (side.reindex(dates, fill_value=0.0) for side in sides)
    for key, row in got.iterrows():
        x = a.xs(key, level=labels).to_numpy()
        y = b.xs(key, level=labels).to_numpy()
        assert row["dates"] == len(x)
        assert row["a_mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["b_mean"] == pytest.approx(y.mean(), rel=1e-12)
        rmse = np.sqrt(np.mean((y - x) ** 2))
        assert row["nrmse_pct"] == pytest.approx(100 * rmse / np.abs(x).mean(), rel=1e-9)


def test_series_means_say_what_the_difference_costs_on_an_average_day(
        runs: dict[str, Path], tmp_path: Path) -> None:
    """An analyst comparing a scenario with its counterfactual wants the hashrate it cost on
    an average day, not only an NRMSE: nrmse.csv has each side's mean over the dates."""
    code, out = _compare(runs["a"], runs["other"], "-o", tmp_path / "c", "--no-plots")
    assert code == 0, out
    nrmse = pd.read_csv(tmp_path / "c" / "nrmse.csv").set_index("series")
    means = [pd.read_csv(runs[k] / "network.csv").groupby("date")["hashrate_hs"].mean().mean()
             for k in ("a", "other")]
    row = nrmse.loc["hashrate_hs"]
    assert row["a_mean"] == pytest.approx(means[0], rel=1e-12)
    assert row["b_mean"] == pytest.approx(means[1], rel=1e-12)
    assert row["mean_delta"] == pytest.approx(means[1] - means[0], rel=1e-9)
    assert "mean " in out


def test_an_input_only_one_side_has_is_one_line(tmp_path: Path) -> None:
    """china-2021 against its counterfactual listed each policy only one side has field by
    field (~10 lines each), after 530 lines of the backtest's observed figures: the policies
    that differ were past the 40 lines shown. Each such item is one line now, saying what it
    is; the observed figures are one line at the end."""
    from sim.commands.experiments import _input_lines

    a = sim.run(sim.load(TUTORIAL, ["end=2021-02-28", "policies=[]"]), seed=1).write(tmp_path / "a")
    b = sim.run(sim.load(TUTORIAL, ["end=2021-02-28"]), seed=1).write(tmp_path / "b")
    code, out = _compare(a, b)
    assert code == 0, out
    assert "scenario.policies.ban: only in B (mining_ban, red_country, " in out
    assert "scenario.policies.ban.hazard_per_day" not in out
    lines = _input_lines([("x.observed.checks.a.value", 1.0, 2.0), ("x.p.q.kind", "—", "k"),
                          ("x.p.q.date", "—", "2021-01-01"), ("x.p.q.sub.0", "—", "s"),
                          ("x.r", 1, 2)])
    assert lines == ["x.observed.checks.a.value: 1.0 → 2.0",
                     "x.p.q: only in B (k, 2021-01-01)", "x.r: 1 → 2"]
