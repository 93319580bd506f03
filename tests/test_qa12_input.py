"""QA pass 12, bad input to the newest parts: power prices, decisions.csv, and what compare,
plot and report make of them. Each test pins a defect this pass found (a traceback, a silent
nonsense result or a false message), fixed beside it.

Runs are the tutorial world cut to a few months, in process: about a second each.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from cli import main
from sim.errors import ScenarioError
from sim.rundata import TableError, read_table
from tests.test_compare import _compare, check_sparse_nrmse
from tests.test_experiments import TUTORIAL, _sweep, _write


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tutorial runs of 3 replicates to June (rigs decide from March) that differ in
    their decision rate."""
    tmp = tmp_path_factory.mktemp("qa12_runs")
    cut = ["end=2021-06-30"]
    worlds = {"a": sim.load(TUTORIAL, cut),
              "b": sim.load(TUTORIAL, [*cut, "behaviour.decision_rate_per_day=0.5"])}
    return {name: sim.run(world, seed=1, replicates=3).write(tmp / name)
            for name, world in worlds.items()}


# ---------------------------------------------------------------------------- power prices


@pytest.mark.parametrize(("override", "bound"), [
    ("regions.highland.electricity_usd_per_kwh=1e308", "≤ 1000"),
    ("regions.highland.electricity_monthly_usd_per_kwh=[1e308,1,1,1,1,1,1,1,1,1,1,1]", "≤ 1000"),
    ("regions.highland.electricity_schedule=[{date: 2021-03-01, usd_per_kwh: 1e308}]", "≤ 1000"),
    ("regions.highland.electricity_schedule=[{date: 2021-03-01, surcharge_usd_per_kwh: 1e308}]",
     "≤ 1000"),
    ("regions.highland.electricity_schedule=[{date: 2021-03-01, surcharge_usd_per_kwh: -1e308}]",
     "≥ -1000"),  # a rebate is bounded too
    ("regions.highland.electricity_spread_usd_per_kwh=1e308", "≤ 1000"),
    ("facilities.bluefarm.power_usd_per_kwh=1e308", "≤ 1000"),
    ("facilities.bluefarm.hosting_fee_usd_per_kwh=1e308", "≤ 1000"),
])
def test_a_power_price_that_overflows_the_cost_is_refused(override: str, bound: str) -> None:
    """A price of 1e308 USD/kWh passed validation and ran: a rig's daily cost overflowed to
    inf, its margin to NaN (RuntimeWarnings), its rigs stayed online whatever they cost and
    regions.csv held cost_usd = inf. Prices are bounded as a coin's are (MAX_PRICE_USD): a
    region's, a facility's own price and hosting fee, and a step's surcharge either way."""
    with pytest.raises(ScenarioError) as caught:
        sim.load(TUTORIAL, [override])
    (issue,) = caught.value.issues
    field = override.split("=")[0].split(".")[-1]
    assert field in issue.dotted_path or "electricity_schedule" in issue.dotted_path
    assert bound in issue.message and issue.file.startswith("--set")


def test_a_dear_but_finite_price_runs_with_finite_costs() -> None:
    res = sim.run(sim.load(TUTORIAL, [
        "end=2021-03-31", "regions.highland.electricity_schedule=[{date: 2021-02-01, "
        "usd_per_kwh: 1000}]", "regions.plains.electricity_spread_usd_per_kwh=1000"]), seed=1)
    regions = res.regions
    assert np.isfinite(regions["cost_usd"]).all()
    highland = regions[(regions["region"] == "highland")
                       & (regions["date"] >= dt.date(2021, 2, 2))]
    assert (highland["rigs_online"] == 0).all()  # nobody mines at 1,000 USD/kWh


# ---------------------------------------------------------------------------- compare


def test_compare_names_an_empty_table_file_instead_of_a_traceback(runs: dict[str, Path],
                                                                  tmp_path: Path) -> None:
    """An empty (0-byte) table — what a sweep resumed from a version without decisions.csv
    combines into — crashed compare with pandas' EmptyDataError (exit code 70)."""
    empty = tmp_path / "decisions.csv"
    empty.write_bytes(b"")
    code, out = _compare(empty, runs["a"] / "decisions.csv")
    assert code == 3 and f"{empty}: an empty file" in out, out
    folder = Path(shutil.copytree(runs["b"], tmp_path / "b"))
    (folder / "decisions.csv").write_bytes(b"")
    code, out = _compare(runs["a"], folder, "--table", "decisions")
    assert code == 3 and f"{folder / 'decisions.csv'}: an empty file" in out, out


def test_decisions_are_compared_with_a_missing_row_as_zero(runs: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """decisions.csv, like flows.csv, has rows only on days with decisions, but compare
    joined its series on the days both sides decided and averaged over the runs that did."""
    code, out = _compare(runs["a"], runs["b"], "--table", "decisions", "-o", tmp_path / "c",
                         "--no-plots")
    assert code == 0, out
    got = pd.read_csv(tmp_path / "c" / "nrmse.csv").set_index(["region", "choice"])
    assert len(got) > 4
    check_sparse_nrmse(got, (runs["a"], runs["b"]), "decisions", ["region", "choice"], "rigs")


def test_an_arm_without_decisions_is_an_arm_of_the_sweep(tmp_path: Path) -> None:
    """`compare --table decisions --arm no-ban` said the sweep had "no arm no-ban" (exit
    code 2): the arm is there, but none of its rigs decided, so decisions.csv has no row of
    it. Its sparse series are all zero on both sides: equal, not an error."""
    experiment = _write(tmp_path, f"name: arms\nscenario: {TUTORIAL}\n"
                        "set: {end: 2021-04-15}\narms:\n  ban: {}\n"
                        "  no-ban: {set: {policies: []}}\nreplicates: 2\nseed: 3\n")
    for out in ("x", "y"):
        code, text = _sweep(experiment, "-o", tmp_path / out, "-j", "1", "-q")
        assert code == 0, text
    decisions = pd.read_csv(tmp_path / "x" / "decisions.csv")
    assert set(decisions["arm"]) == {"ban"}
    for table in ("decisions", "flows"):
        code, out = _compare(tmp_path / "x", tmp_path / "y", "--table", table, "--arm",
                             "no-ban", "--fail-above", "0")
        assert code == 0 and "check passed" in out, out
        assert "no arm" not in out
    code, out = _compare(tmp_path / "x", tmp_path / "y", "--table", "decisions", "--arm",
                         "nosuch")
    assert code == 2 and "no arm nosuch; arms are: ban, no-ban" in out, out


# ---------------------------------------------------------------------------- decisions.csv


def test_a_choice_hashsim_does_not_know_is_refused_where_it_is(runs: dict[str, Path],
                                                               tmp_path: Path) -> None:
    """A row of decisions.csv with a choice hashsim never writes ('teleport', or
    'Relocate' typed by hand) was read, then silently left out of the choices figure and
    the report's bars."""
    folder = Path(shutil.copytree(runs["a"], tmp_path / "a"))
    path = folder / "decisions.csv"
    lines = path.read_text().splitlines()
    lines.insert(3, "2021-03-03,0,TUT,highland,teleport,5")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError) as caught:
        read_table(path, kind="decisions")
    assert str(caught.value) == (
        f"{path}, line 4: column choice: 'teleport' is not a choice (leave_early, relocate, "
        "underground, hibernate, sell, retire)")
    result = CliRunner().invoke(main, ["plot", str(folder), "--only", "choices", "-o",
                                       str(tmp_path / "figures")])
    assert result.exit_code == 3 and "'teleport' is not a choice" in result.output
    assert not (tmp_path / "figures").exists()


# ---------------------------------------------------------------------------- notes


def test_values_that_do_nothing_are_noted_at_their_lines(tmp_path: Path) -> None:
    """A full outage's return_days, an announcement's suspend_days without a suspension rate
    and a lift of a partial outage (which only its days end) did nothing, without a word."""
    from sim.validation.notes import notes

    path = tmp_path / "s.yaml"
    path.write_text(TUTORIAL.read_text())
    policies = ("policies=[{kind: power_outage, region: highland, date: 2021-03-01, days: 5, "
                "return_days: 10}, {kind: announcement, region: plains, date: 2021-03-01, "
                "risk: 0.1, suspend_days: 20}, {kind: power_outage, id: part, region: plains, "
                "date: 2021-04-01, days: 10, share: 0.5}, {kind: lift, policy: part, "
                "date: 2021-04-03}]")
    found = {i.dotted_path: i.message for i in notes(path, [policies], sim.load(path,
                                                                            [policies]))}
    assert found == {
        "policies.0.return_days": "return_days spreads the return of a partial outage (share "
        "below 1) only: this one's rigs all come back when power returns",
        "policies.1.suspend_days": "suspend_days does nothing without suspend_rate_per_day "
        "(the share of rigs that switch off to wait)",
        "policies.3.policy": "a lift does not end a partial outage (share below 1) early: "
        "it does nothing (the outage ends after its days)"}
    result = CliRunner().invoke(main, ["validate", str(path), "--set", policies])
    assert result.exit_code == 0 and result.output.count("note: ") == 3, result.output


# ---------------------------------------------------------------- outputs that cannot be made


def test_compare_summarize_and_sensitivity_refuse_an_output_they_cannot_make_first(
        runs: dict[str, Path], tmp_path: Path) -> None:
    """compare printed the whole comparison, then failed on its -o (a path below a file, or
    a folder it may not write: `Permission denied`); summarize and sensitivity likewise
    worked first. Each now refuses before any work, as run and sweep do (exit code 2)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    result = CliRunner().invoke(main, ["compare", str(runs["a"]), str(runs["b"]), "-o",
                                       str(blocker / "cmp"), "--no-plots"])
    assert result.exit_code == 2, result.output
    assert "cannot create comparison folder" in result.stderr
    assert "metrics:" not in result.stdout and "inputs:" not in result.stdout
    result = CliRunner().invoke(main, ["summarize", str(runs["a"]), "-o",
                                       str(blocker / "sum")])
    assert result.exit_code == 2, result.output
    assert "cannot create summary folder" in result.stderr and result.stdout == ""
    result = CliRunner().invoke(main, ["sensitivity", str(runs["a"]), "--metric", "drop", "-o",
                                       str(blocker / "s.csv")])
    assert result.exit_code == 2, result.output
    assert "cannot create sensitivity table" in result.stderr


def test_a_sweep_whose_kept_runs_lack_a_table_combines_its_header(tmp_path: Path) -> None:
    """A sweep resumed with every run kept from a version that did not write decisions.csv
    combined a file of 0 bytes (no table to pandas, plot, report or compare); it is now the
    table's header alone, as a table without rows is written."""
    exp, out = _write(tmp_path, f"""\
name: old
scenario: {TUTORIAL}
set: {{end: 2021-03-31}}
replicates: 2
seed: 3
"""), tmp_path / "out"
    code, text = _sweep(exp, "-o", out, "-q")
    assert code == 0, text
    header = (out / "decisions.csv").read_text().splitlines()[0]
    for shard in out.glob("shards/**/decisions.csv"):
        shard.unlink()  # as an earlier version left its shards
    code, text = _sweep(exp, "-o", out, "--resume", "-q")
    assert code == 0, text
    assert (out / "decisions.csv").read_text() == header + "\n"
    assert header.split(",")[:3] == ["sample", "arm", "replicate"]
    assert read_table(out / "decisions.csv", kind="decisions").empty
