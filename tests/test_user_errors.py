"""What a demanding user meets at the edges: censored and missing values in backtests,
summary metrics that exist in every replicate, output paths the system refuses, dates outside
the run, and exit codes that keep "a check failed" apart from "you asked for something wrong"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from cli import main
from sim.backtest import NOT_REACHED, _row, scores
from sim.commands.common import default_output
from sim.errors import HashsimError, ScenarioError
from sim.results import run
from sim.scenario import HashrateCheck, RecoveryCheck, Scenario
from sim.summary import _retarget_metrics, shock_date, summarize
from tests.worlds import scenario, three_regions

DAY = dt.date(2021, 6, 1).toordinal()


def recovery(low: int, high: int) -> RecoveryCheck:
    return RecoveryCheck(metric="recovery", reference="2021-01-01", after="2021-02-01",
                         date_low=dt.date.fromordinal(low), date_high=dt.date.fromordinal(high))


def test_a_recovery_most_replicates_never_reach_is_missed() -> None:
    nan = float("nan")
    check = recovery(DAY - 5, DAY + 5)
    row = _row(check, np.array([DAY, nan, nan, nan, nan, nan]), nan, DAY - 5, DAY + 5, "date",
               "", censored=True)
    assert row["simulated"] == NOT_REACHED and row["within_band"] is False
    assert row["replicates_missing"] == 5
    # one of four not reached: the median is the mean of the middle two (the unreached
    # replicate ranks last), inside the band
    row = _row(check, np.array([DAY - 1, DAY + 1, DAY + 3, nan]), nan, DAY - 5, DAY + 5,
               "date", "", censored=True)
    assert row["simulated"] == dt.date.fromordinal(DAY + 2).isoformat()
    assert row["within_band"] is True and row["replicates_missing"] == 1


def test_a_figure_most_replicates_lack_has_no_median() -> None:
    check = HashrateCheck(metric="hashrate", date="2021-01-05", low=1.0, high=3.0)
    nan = float("nan")
    row = _row(check, np.array([2.0, nan, nan]), 2.0, 1.0, 3.0, "H/s", "")
    assert np.isnan(row["simulated"]) and row["within_band"] is False
    row = _row(check, np.array([2.0, 2.5, nan]), 2.0, 1.0, 3.0, "H/s", "")
    assert row["simulated"] == 2.25 and row["within_band"] is True


def test_mape_leaves_out_info_rows() -> None:
    table = pd.DataFrame({"tier": ["headline", "secondary", "info"],
                          "within_band": [True, False, None],
                          "abs_pct_error": [10.0, 20.0, 900.0]})
    sc = scenario(three_regions(end="2021-01-20", observed={
        "coin": "BTC", "hashrate": [{"date": "2021-01-10", "hashrate_hs": 8e17}]}))
    s = scores(table, sc, run(sc, seed=1).tables)
    assert s["mape_pct"] == pytest.approx(15.0)


def _write(path: Path, doc: dict) -> Path:
    with path.open("w") as fh:
        YAML().dump(doc, fh)
    return path


def test_checks_outside_the_run_are_refused_before_it(tmp_path: Path) -> None:
    observed = {"coin": "BTC", "checks": [
        {"metric": "hashrate", "id": "late", "date": "2021-06-01", "value": 8e17}]}
    path = _write(tmp_path / "w.yaml", three_regions(observed=observed))
    out = CliRunner().invoke(main, ["backtest", str(path), "-r", "1", "-o",
                                    str(tmp_path / "bt")])
    assert out.exit_code == 2, out.output
    assert "late (date 2021-06-01)" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "bt").exists()


def test_every_leaf_has_a_relocated_figure_and_adjustments_have_their_sign() -> None:
    sc = scenario(three_regions(end="2021-01-20"))
    summary = run(sc, seed=1).summary
    moved = summary[summary["metric"].str.startswith("relocated_rigs.")]
    assert sorted(moved["metric"]) == ["relocated_rigs.a", "relocated_rigs.b",
                                       "relocated_rigs.c"]
    assert (moved["value"] == 0).all()  # no ban: nobody moved, and it says so
    events = pd.DataFrame({
        "replicate": [0, 0], "kind": ["retarget"] * 2, "actor": ["BTC"] * 2,
        "date": ["2021-01-05", "2021-01-19"],
        "description": ["difficulty +2.50% at height 1 (epoch of 13.0000 days)",
                        "difficulty +1.00% at height 2 (epoch of 13.5000 days)"]})
    rows = {r["metric"]: r for r in _retarget_metrics(events, 0, "BTC", sc)}
    assert rows["largest_upward_adjustment"]["value"] == 2.5
    assert np.isnan(rows["largest_downward_adjustment"]["value"])  # there was none
    assert rows["largest_downward_adjustment"]["date"] == ""


def test_shock_date_sets_where_the_drop_is_counted_from() -> None:
    sc = scenario(three_regions(end="2021-02-28", shock_date="2021-02-01"))
    tables = run(sc, seed=1).tables
    pre = summarize(sc, tables).set_index("metric").loc["pre_shock_hashrate"]
    assert pre["date"] == "2021-02-01"
    # a run cut short before it (--set end=…) has no shock: the first 7 days, as without one
    short = scenario(three_regions(end="2021-01-20", shock_date="2021-02-01"))
    pre = summarize(short, run(short, seed=1).tables).set_index("metric").loc[
        "pre_shock_hashrate"]
    assert pre["date"] == ""


def load_doc(doc: dict) -> Scenario:
    from sim.validation import loads

    buf = __import__("io").StringIO()
    YAML().dump(doc, buf)
    return loads(buf.getvalue(), "w.yaml", ())


def test_a_policy_dated_before_the_start_is_the_shock_from_day_0() -> None:
    """In force from the first day (docs/model.md), so the summary counts from day 0 — not
    from a later intervention, with the ban already biting."""
    ban = {"kind": "mining_ban", "region": "a", "date": "2020-06-01", "hazard_per_day": 0.1}
    sc = load_doc(three_regions(end="2021-01-31", policies=[ban]))
    assert shock_date(sc) == dt.date(2021, 1, 1)


def test_an_output_path_the_system_refuses_is_an_error_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    for args in (["run", "tutorial"], ["backtest", "wuhan-general-2018", "-r", "1"],
                 ["calibrate", "wuhan-general-2018", "--param",
                  "behaviour.risk_aversion=1:2"]):
        out = CliRunner().invoke(main, [*args, "-o", str(blocker / "sub")])
        assert out.exit_code == 2, (args, out.output)
        assert "is a file, not a folder" in out.output and "Traceback" not in out.output


def test_file_system_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    from sim.commands.common import report_errors

    @report_errors
    def job() -> None:
        (tmp_path / "nowhere" / "x").write_text("")

    with pytest.raises(SystemExit) as stop:
        job()
    assert stop.value.code == 2


def test_default_output_folders_stay_inside_results() -> None:
    assert default_output("../../evil") == Path("results") / "evil"
    assert default_output("China 2021", "-backtest") == Path("results") / "China-2021-backtest"
    assert default_output("..") == Path("results") / "scenario"


def test_usage_errors_exit_2_and_failed_checks_keep_1(tmp_path: Path) -> None:
    assert HashsimError.exit_code == 2
    out = CliRunner().invoke(main, ["run", "--from", str(tmp_path / "nosuch.json")])
    assert out.exit_code == 2 and "no such file" in out.output
    out = CliRunner().invoke(main, ["backtest", "tutorial", "-o", str(tmp_path / "b")])
    assert out.exit_code == 2 and "observed" in out.output


def test_calibrate_refuses_a_parameter_given_twice() -> None:
    from sim.calibrate import Param, calibrate

    p = Param.parse("behaviour.risk_aversion=1:2")
    with pytest.raises(HashsimError, match="more than once"):
        calibrate("no-file-needed.yaml", [p, p], seed=1)  # refused before anything is read


def test_true_or_false_is_not_a_number() -> None:
    doc = three_regions()
    doc["fleet"][0]["rigs"] = True
    with pytest.raises(ScenarioError, match="rigs: expected a number, not true/false"):
        load_doc(doc)
    doc = three_regions()
    doc["regions"][0]["electricity_monthly_usd_per_kwh"] = [0.05] * 11 + [False]
    with pytest.raises(ScenarioError, match="expected a number"):
        load_doc(doc)


def test_a_closed_pipe_is_left_to_click_not_reported_as_a_file_error() -> None:
    """`hashsim summarize DIR | head` once printed "error: Broken pipe" (exit 2): a reader
    that leaves early is not a file-system failure. Click then ends quietly (exit 1)."""
    import subprocess
    import sys

    from sim.commands.common import report_errors

    @report_errors
    def prints() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        prints()

    @report_errors
    def refused() -> None:
        raise PermissionError(13, "Permission denied", "/x")

    with pytest.raises(SystemExit) as exit_:
        refused()
    assert exit_.value.code == 2
    # end to end: a wrapped command whose reader has gone prints no error
    code = ("import sys, click\nfrom sim.commands.common import report_errors\n"
            "@click.command()\n@report_errors\ndef big():\n"
            "    for i in range(200000): click.echo('x' * 60)\nbig()\n")
    proc = subprocess.run(f"{sys.executable} -c \"{code}\" | head -c 10 > /dev/null",
                          shell=True, capture_output=True, text=True, timeout=60)
    assert "error" not in proc.stderr.lower(), proc.stderr


def test_a_folder_named_like_a_bundled_scenario_does_not_hide_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After `hashsim run tutorial -o tutorial`, `hashsim validate tutorial` (run, load) said
    "tutorial: is a directory, not a scenario file"."""
    import sim

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tutorial").mkdir()
    assert sim.load("tutorial").name == "tutorial"
    result = CliRunner().invoke(main, ["validate", "tutorial"])
    assert result.exit_code == 0, result.output
    (tmp_path / "mine").mkdir()  # a folder that is not bundled: still a clear error
    result = CliRunner().invoke(main, ["validate", "mine"])
    assert result.exit_code == 3 and "directory" in result.output, result.output


def test_the_bundled_arms_count_their_shock_from_the_same_day() -> None:
    """no-ban-2021 once counted its 'shock' from the April Xinjiang outage and china-2021 from
    its start: the arms experiment compared a 22 % outage dip with the crackdown."""
    import sim
    from sim.summary import shock_date

    ban, no_ban = sim.load("china-2021"), sim.load("no-ban-2021")
    assert shock_date(ban) == shock_date(no_ban) == dt.date(2021, 5, 21)


def test_bundled_experiments_are_found_by_name_and_validated_as_experiments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From an installed copy the README's scenarios/experiments/… path does not exist and
    `hashsim sweep tutorial-sweep` said "file not found"; `hashsim validate` read an
    experiment file as a scenario ("unknown key 'replicates'")."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    listed = runner.invoke(main, ["scenarios"])
    assert "experiments (hashsim sweep NAME)" in listed.output and "tutorial-sweep" in listed.output
    dry = runner.invoke(main, ["sweep", "tutorial-sweep", "--dry-run"])
    assert dry.exit_code == 0 and "24 runs" in dry.output, dry.output
    ok = runner.invoke(main, ["validate", "tutorial-sweep", "tutorial"])
    assert ok.exit_code == 0 and "experiment tutorial-sweep: 24 runs" in ok.output, ok.output
    (tmp_path / "exp.yaml").write_text("name: x\nscenario: tutorial\nreplicates: 0\n")
    bad = runner.invoke(main, ["validate", "exp.yaml"])
    assert bad.exit_code == 3 and "exp.yaml:3" in bad.output and "replicates" in bad.output
    assert not list(tmp_path.glob("results*"))  # checking writes nothing


def test_a_hashrate_that_never_fell_has_no_trough_or_recovery_in_the_printout(
        tmp_path: Path) -> None:
    """sparkpool-2021's hashrate keeps rising across the closure: the run printed a 'trough'
    above the level before the shock, 'drop -0.4 %' and recoveries '0 days after'."""
    result = CliRunner().invoke(main, ["run", "sparkpool-2021", "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "none: the hashrate did not fall below its level before the shock" in result.output
    assert "drop -" not in result.output and "recovery to" not in result.output


@pytest.mark.parametrize("command", [["run", "tutorial"], ["backtest", "china-2021"]])
def test_an_internal_error_is_told_apart_from_a_failed_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """A bug inside a run exited 1 with a bare traceback: `backtest`'s code for "a band
    missed". It now exits 70 with the traceback and a line that says it is a bug; nothing
    is written."""
    import sim.chain

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom inside the engine")

    monkeypatch.setattr(sim.chain.Chain, "advance_day", broken)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*command, "-o", str(out), "--seed", "1"])
    assert result.exit_code == 70, result.output
    assert "RuntimeError: boom inside the engine" in result.stderr
    assert "internal error in hashsim" in result.stderr.splitlines()[-1]
    assert not out.exists()
