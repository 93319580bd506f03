"""Inputs that validated but crashed, hung or were silently ignored: a difficulty or block time
that overflows a day's Poisson draw, experiment parameters that overwrite each other or an
override, calibration bounds checked only by running, and the messages around them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from sim.errors import Issue, ScenarioError
from sim.experiments.plan import prepare
from sim.experiments.spec import ExperimentError
from sim.scenario import MAX_BLOCKS_PER_DAY
from sim.validation import loads

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
TEXT = TUTORIAL.read_text(encoding="utf-8")
EPOCH = "    blocks_into_epoch: 1000"
FLEET_HS = 28_000 * 1.0e14  # the tutorial's 28,000 rigs of 100 TH/s


def _issues(text: str, overrides: tuple[str, ...] = ()) -> list[Issue]:
    with pytest.raises(ScenarioError) as err:
        loads(text, "tutorial.yaml", overrides)
    return err.value.issues


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# ---------------------------------------------------------------------------- 1. the chain


def test_a_difficulty_that_overflows_the_first_days_blocks_is_refused_at_its_line() -> None:
    text = TEXT.replace(EPOCH, f"{EPOCH}\n    initial_difficulty: 1.0e-6", 1)
    (issue,) = _issues(text)
    assert (issue.dotted_path, issue.line) == ("coins.0.initial_difficulty",
                                               _line(text, "initial_difficulty: 1.0e-6"))
    assert f"{MAX_BLOCKS_PER_DAY:,}" in issue.message and "null" in issue.message


def test_the_first_day_bound_is_where_the_message_says() -> None:
    lowest = FLEET_HS * 86_400 / (MAX_BLOCKS_PER_DAY * 2.0**32)
    ok = TEXT.replace(EPOCH, f"{EPOCH}\n    initial_difficulty: {lowest * 1.001!r}", 1)
    assert loads(ok).coins[0].initial_difficulty == pytest.approx(lowest * 1.001)
    (issue,) = _issues(ok.replace(repr(lowest * 1.001), repr(lowest * 0.999)))
    assert f"give at least {lowest:.3g}" in issue.message


def test_a_tracking_coin_ignores_its_initial_difficulty() -> None:
    """Its blocks follow the block time whatever the difficulty (sim/chain.py)."""
    text = TEXT.replace("rule: bitcoin ", "rule: tracking ").replace(
        EPOCH, "    initial_difficulty: 1.0e-6")
    assert loads(text).coins[0].initial_difficulty == 1.0e-6


def test_a_block_time_below_a_second_is_refused() -> None:
    text = TEXT.replace("block_time_s: 600", "block_time_s: 1.0e-9", 1)
    (issue,) = _issues(text)
    assert issue.dotted_path == "coins.0.block_time_s"
    assert issue.line == _line(text, "block_time_s: 1.0e-9")
    assert "expected a number ≥ 1, got 1e-09" in issue.message
    assert loads(TEXT, overrides=["coins.0.block_time_s=1"]).coins[0].block_time_s == 1.0


@pytest.mark.parametrize("name", ["china-2021", "iran-2021", "no-ban-2021", "sparkpool-2021",
                                  "tutorial", "wuhan-general-2018"])
def test_bundled_scenarios_still_validate(name: str) -> None:
    path = ROOT / "scenarios" / f"{name}.yaml"
    assert loads(path.read_text(encoding="utf-8"), str(path)).name == name


@pytest.mark.parametrize("name", ["china-2021-arms", "iran-2021-arms", "tutorial-sweep"])
def test_bundled_experiments_still_validate(name: str) -> None:
    assert prepare(ROOT / "scenarios" / "experiments" / f"{name}.yaml").experiment.name == name


# ---------------------------------------------------------------------------- 2. experiments


def _experiment(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: gaps\nscenario: {TUTORIAL}\nset: {{end: 2021-05-31}}\n{body}",
                    encoding="utf-8")
    return path


def _experiment_issues(path: Path) -> list[Issue]:
    with pytest.raises(ExperimentError) as err:
        prepare(path)
    return err.value.issues


HAZARD = "  hazard: {path: policies.ban.hazard_per_day, values: [0.02, 0.1]}\n"


def test_two_parameters_writing_one_place_are_refused_at_the_second(tmp_path: Path) -> None:
    # the same policy by id and by index: the second would overwrite the first in every run
    path = _experiment(tmp_path, "parameters:\n" + HAZARD +
                       "  again: {path: policies.1.hazard_per_day, values: [0.5, 0.7]}\n")
    (issue,) = _experiment_issues(path)
    text = path.read_text()
    assert issue.dotted_path == "parameters.again.path"
    assert (issue.line, issue.col) == (_line(text, "again:"), text.splitlines()[
        _line(text, "again:") - 1].index("policies.1") + 1)
    assert "parameter 'hazard'" in issue.message


def test_a_parameter_inside_another_is_refused(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "parameters:\n"
                       "  constants: {path: behaviour.constants, values: [{relocate: 1.0}]}\n"
                       "  relocate: {path: behaviour.constants.relocate, values: [0.5]}\n")
    (issue,) = _experiment_issues(path)
    assert issue.dotted_path == "parameters.relocate.path"
    assert "inside behaviour.constants" in issue.message


def test_an_arms_set_on_a_swept_path_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "arms:\n  harsh: {set: {policies.ban.hazard_per_day: 0.3}}\n"
                       "  other: {set: {policies.ban.hazard_per_day: 0.3}}\n"
                       "parameters:\n" + HAZARD.replace("]}", "], arms: [harsh]}"))
    (issue,) = _experiment_issues(path)  # `other` is not swept: its own value stands
    assert issue.dotted_path == "arms.harsh.set.policies.ban.hazard_per_day"
    assert issue.line == _line(path.read_text(), "harsh: {set")
    assert "parameter 'hazard' sweeps policies.ban.hazard_per_day" in issue.message


def test_the_experiments_set_on_a_swept_path_is_refused(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "parameters:\n" + HAZARD)
    path.write_text(path.read_text().replace("{end: 2021-05-31}",
                                             "{end: 2021-05-31, policies.1.hazard_per_day: 1}"))
    (issue,) = _experiment_issues(path)
    assert issue.dotted_path == "set.policies.1.hazard_per_day"


def test_an_arm_that_writes_the_whole_policy_a_parameter_fills_in_is_fine(tmp_path: Path
                                                                          ) -> None:
    policy = ("{kind: mining_ban, id: ban, date: 2021-04-01, region: red_country, "
              "hazard_per_day: 0.2}")
    path = _experiment(tmp_path, f"arms:\n  base: {{set: {{policies.ban: {policy}}}}}\n"
                       "parameters:\n" + HAZARD)
    assert prepare(path).num_tasks == 2


def test_sweep_set_on_a_swept_path_is_a_usage_error(tmp_path: Path) -> None:
    path = _experiment(tmp_path, "parameters:\n" + HAZARD)
    code, output = _invoke("sweep", str(path), "--dry-run", "-o", str(tmp_path / "out"),
                           "--set", "policies.ban.hazard_per_day=0.5")
    assert code == 2, output
    assert "--set policies.ban.hazard_per_day=0.5: parameter 'hazard' sweeps" in output
    code, output = _invoke("sweep", str(path), "--dry-run", "-o", str(tmp_path / "out"),
                           "--set", "behaviour.risk_aversion=3")
    assert code == 0, output


# ---------------------------------------------------------------------------- 3. calibrate


def _calibrate(tmp_path: Path, param: str) -> tuple[int, str]:
    return _invoke("calibrate", "sparkpool-2021", "--param", param, "-o", str(tmp_path / "c"),
                   "--max-evaluations", "2", "-r", "1", "-q")


def test_a_calibration_bound_the_scenario_refuses_is_named_before_any_run(tmp_path: Path
                                                                          ) -> None:
    param = "policies.notice-924-mining.hazard_per_day=-1:0.3"
    code, output = _calibrate(tmp_path, param)
    assert code == 3, output
    assert f"--param {param}: policies.0.hazard_per_day: LOW = -1 is refused" in output
    assert "--set" not in output and "HIGH" not in output
    assert not (tmp_path / "c").exists()


def test_calibrating_a_field_that_is_not_a_number_says_so(tmp_path: Path) -> None:
    code, output = _calibrate(tmp_path, "policies.notice-924-mining.id=0:1")
    assert code == 3, output
    assert "not a number" in output and "did you mean" not in output


def test_a_calibration_path_that_leads_nowhere_is_reported_once(tmp_path: Path) -> None:
    code, output = _calibrate(tmp_path, "policies.nosuch.hazard_per_day=0:1")
    assert code == 3, output
    assert output.count("no item named 'nosuch'") == 1


# ---------------------------------------------------------------------------- 4. docs


def test_a_shock_date_after_the_end_is_valid_as_the_docs_say() -> None:
    assert loads(TEXT, overrides=["shock_date=2022-02-15"]).shock_date is not None
    page = " ".join((ROOT / "docs" / "experiments.md").read_text(encoding="utf-8").split())
    assert not re.search(r"shock_date` after an `end`\) stop", page)


# ---------------------------------------------------------------------------- 5. messages


def test_a_duplicate_region_is_named_once() -> None:
    text = TEXT.replace("  - name: plains\n", "  - name: highland\n", 1)
    (issue,) = _issues(text)
    assert issue.dotted_path == "regions.2.name"
    assert issue.line == _line(text, "label: Plains") - 1
    assert "duplicate region name 'highland' (also regions.1)" in issue.message


def test_an_item_index_out_of_names_says_what_is_valid() -> None:
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["run", "tutorial", "--set", "fleet.-1.rigs=5"])
    assert result.exit_code == 3
    assert "give an index 0..3 (its items have no names)" in result.output
    assert "or one of: \n" not in result.output and not result.output.rstrip().endswith(":")
