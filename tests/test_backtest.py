"""Backtest and calibration on a small world whose truth we know."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from cli import main
from sim.backtest import evaluate, objective, scores
from sim.calibrate import Param, calibrate, write_calibrated
from sim.errors import HashsimError
from sim.results import run
from sim.validation import load
from tests.worlds import scenario, three_regions

BAN = {"kind": "mining_ban", "id": "ban", "region": "a", "date": "2021-01-11",
       "hazard_per_day": 0.1}


def banned_world(observed: dict) -> dict:
    return three_regions(end="2021-03-31", policies=[BAN], observed=observed,
                         behaviour={"decision_rate_per_day": 0.0})


def test_checks_are_evaluated_against_their_bands() -> None:
    truth = run(scenario(banned_world({"coin": "BTC"})), seed=1)
    share = float(truth.regions.query("region == 'a' and date.astype('str') == '2021-01-31'")
                  ["share"].iloc[0])
    observed = {"coin": "BTC", "checks": [
        {"metric": "region_share", "id": "a-share", "name": "a", "date": "2021-01-31",
         "value": share, "low": share - 0.01, "high": share + 0.01},
        {"metric": "hashrate", "date": "2021-01-05", "value": 8e17, "low": 7.9e17,
         "high": 8.1e17},
        {"metric": "trough", "window_start": "2021-01-01", "window_end": "2021-03-31",
         "low": 1e17, "high": 2e17},  # a band the run misses: the trough is near 4.2e17
        {"metric": "hashrate_change", "start": "2021-01-05", "end": "2021-02-28",
         "high": 0.0},
    ]}
    sc = scenario(banned_world(observed))
    res = run(sc, seed=1, replicates=3)
    table = evaluate(sc, res.tables).set_index("check")
    assert table.loc["a-share", "within_band"]
    assert table.loc["hashrate", "within_band"]
    assert not table.loc["trough", "within_band"]
    assert table.loc["hashrate_change", "within_band"]
    assert table.loc["hashrate", "simulated"] == pytest.approx(8e17)
    s = scores(evaluate(sc, res.tables), sc, res.tables)
    assert (s["hits"], s["misses"]) == (3.0, 1.0)
    assert objective(sc, res.tables) > 1.0


def test_calibration_recovers_a_known_hazard(tmp_path: Path) -> None:
    # Truth: hazard 0.1/day. Observed: a's share on three dates of the truth's own run.
    truth_sc = scenario(banned_world({"coin": "BTC"}))
    truth = run(truth_sc, seed=7, replicates=2)
    regions = truth.regions[truth.regions["region"] == "a"]
    checks = []
    for day in ("2021-01-15", "2021-01-25", "2021-02-10"):
        share = float(regions[regions["date"].astype(str) == day]["share"].median())
        checks.append({"metric": "region_share", "name": "a", "date": day, "value": share,
                       "low": share - 0.02, "high": share + 0.02})
    doc = banned_world({"coin": "BTC", "checks": checks})
    doc["policies"] = [{**BAN, "hazard_per_day": 0.3}]  # a wrong start
    path = tmp_path / "world.yaml"
    with path.open("w") as fh:
        YAML().dump(doc, fh)
    fit = calibrate(path, [Param.parse("policies.ban.hazard_per_day=0.01:0.5")], seed=7,
                    replicates=2, max_evaluations=30)
    assert fit.objective < fit.start_objective
    assert fit.best["policies.ban.hazard_per_day"] == pytest.approx(0.1, abs=0.02)
    write_calibrated(path, fit.best, tmp_path / "calibrated.yaml")
    again = load(tmp_path / "calibrated.yaml")
    assert again.policies[0].hazard_per_day == pytest.approx(fit.best[
        "policies.ban.hazard_per_day"])


def test_param_parsing_errors() -> None:
    for bad in ("x", "x=1", "x=2:1", "x=a:b", "=1:2"):
        with pytest.raises(HashsimError):
            Param.parse(bad)
    assert Param.parse("a.b=0:2").value(0.25) == 0.5


def test_backtest_command_exit_codes(tmp_path: Path) -> None:
    observed = {"coin": "BTC", "checks": [
        {"metric": "hashrate", "date": "2021-01-05", "value": 8e17, "low": 7.9e17,
         "high": 8.1e17}]}
    path = tmp_path / "w.yaml"
    with path.open("w") as fh:
        YAML().dump(banned_world(observed), fh)
    out = CliRunner().invoke(main, ["backtest", str(path), "-r", "2", "--seed", "1", "-o",
                                    str(tmp_path / "bt")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "bt" / "backtest.csv").exists() and "bands held: 1 of 1" in out.output
    observed["checks"][0]["low"] = 9e17
    observed["checks"][0]["high"] = 1e18
    with path.open("w") as fh:
        YAML().dump(banned_world(observed), fh)
    out = CliRunner().invoke(main, ["backtest", str(path), "-r", "2", "-o",
                                    str(tmp_path / "bt2")])
    assert out.exit_code == 1 and "NO" in out.output
    no_obs = tmp_path / "plain.yaml"
    with no_obs.open("w") as fh:
        YAML().dump(three_regions(), fh)
    out = CliRunner().invoke(main, ["backtest", str(no_obs), "-o", str(tmp_path / "bt3")])
    assert out.exit_code != 0 and "observed" in out.output
    assert not (tmp_path / "bt3").exists()


def test_an_epochs_block_time_counts_the_coins_own_epoch(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """The epoch before a retarget took 7 days: 300 s a block for a coin of 2,016-block
    epochs, 600 s for one of 1,008 (evaluate had read 2,016 for every coin)."""
    import sim.backtest as bt

    monkeypatch.setattr(bt, "_nearest_retarget", lambda *a: {"epoch_days": 7.0})
    observed = {"coin": "BTC", "checks": [{"metric": "epoch_block_time", "date": "2021-02-01",
                                           "low": 100.0, "high": 1000.0}]}
    simulated = []
    for blocks in (2016, 1008):
        doc = banned_world(observed)
        doc["coins"][0]["retarget_blocks"] = blocks
        sc = scenario(doc)
        simulated.append(float(evaluate(sc, run(sc, seed=1).tables)["simulated"].iloc[0]))
    assert simulated == pytest.approx([300.0, 600.0])
