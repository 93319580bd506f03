"""Defects found by a QA pass that wrote a new scenario (Iran's 2021 summer ban) and its
experiment from the documentation alone, each pinned by a test.

- an arm's `set` that names a list item the scenario lacks (`policies.iran-ban: null`) was
  reported as `--set: …`, with no line, as if it came from the command line;
- an experiment whose base scenario is not found printed the same error once per arm;
- `hashsim run` of an experiment file listed its keys as ten problems of a scenario (it now
  says to sweep it), and `hashsim sweep` of a scenario thirteen of an experiment;
- `hashsim check` (a word users try) said only "No such command"; `validate` of a bad
  experiment file counted it as a scenario;
- `scripts/update_docs.py` rendered the models of the installed copy of hashsim, not of the
  checkout it belongs to (`scripts/update_schema.py` already took its own);
- docs/scenario-format.md had no section for the points of a price table (in
  test_docs.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from sim.experiments.plan import prepare
from sim.experiments.spec import ExperimentError
from tests.test_experiments import TUTORIAL, _write

ROOT = Path(__file__).resolve().parents[1]


def _problems(path: Path) -> list[str]:
    with pytest.raises(ExperimentError) as caught:
        prepare(path)
    return [str(issue) for issue in caught.value.issues]


def test_an_arm_set_naming_a_missing_item_is_reported_at_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f"""\
name: arms
scenario: {TUTORIAL}
arms:
  ban: {{}}
  no-ban:
    set: {{policies.bann: null}}
""")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:6:")  # the line of the arm's set
    assert ": arms.no-ban.set.policies.bann: in arm 'no-ban': " in problem
    assert "no item named 'bann' in 'policies'; did you mean 'ban'?" in problem


def test_the_experiment_set_naming_a_missing_item_is_reported_at_its_line(
        tmp_path: Path) -> None:
    path = _write(tmp_path, f"""\
name: arms
scenario: {TUTORIAL}
set:
  regions.atlantis.capacity_mw: 5
""")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:4:")
    assert ": set.regions.atlantis.capacity_mw: " in problem
    assert "no item named 'atlantis' in 'regions'" in problem


def test_a_missing_base_scenario_is_reported_once(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
name: arms
scenario: nowhere.yaml
arms:
  ban: {}
  no-ban: {set: {policies: []}}
  harsh: {}
""")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:2:11: scenario: scenario file not found: nowhere.yaml")


def test_update_docs_renders_the_checkout_it_belongs_to(tmp_path: Path) -> None:
    """Another copy of `sim` importable first (an editable install of another checkout, or
    PYTHONPATH) must not be the one whose models the page describes."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    (checkout / "docs").mkdir()
    (checkout / "scripts" / "update_docs.py").write_text(
        (ROOT / "scripts" / "update_docs.py").read_text())
    for root, text in ((checkout, "this checkout"), (tmp_path / "installed", "another copy")):
        (root / "sim").mkdir(parents=True)
        (root / "sim" / "__init__.py").write_text("")
        (root / "sim" / "schema_docs.py").write_text(f"def render():\n    return {text!r}\n")
    env = {"PYTHONPATH": str(tmp_path / "installed"), "PATH": ""}
    subprocess.run([sys.executable, str(checkout / "scripts" / "update_docs.py")], env=env,
                   cwd=tmp_path, check=True, capture_output=True)
    assert (checkout / "docs" / "scenario-format.md").read_text() == "this checkout"


@pytest.mark.parametrize("given", ["file", "tutorial-sweep"])
def test_run_of_an_experiment_says_to_sweep_it(tmp_path: Path, given: str) -> None:
    """`hashsim run` of an experiment listed its keys as ten problems of a scenario."""
    name = str(_write(tmp_path, f"name: arms\nscenario: {TUTORIAL}\nreplicates: 2\n")) \
        if given == "file" else given
    result = CliRunner().invoke(main, ["run", name, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "is an experiment file" in result.output
    assert f"run it with `hashsim sweep {name}`" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("given", ["file", "tutorial"])
def test_sweep_of_a_scenario_says_to_run_it(tmp_path: Path, given: str) -> None:
    """`hashsim sweep` of a scenario listed its keys as thirteen problems of an experiment
    ("policies: did you mean 'replicates'?")."""
    name = str(_write(tmp_path, TUTORIAL.read_text())) if given == "file" else given
    result = CliRunner().invoke(main, ["sweep", name, "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "is a scenario, not an experiment" in result.output
    assert f"run it with `hashsim run {name}`" in result.output
    assert not (tmp_path / "out").exists()


def test_a_word_users_try_for_a_command_points_at_it() -> None:
    result = CliRunner().invoke(main, ["check", "tutorial"])
    assert result.exit_code == 2
    assert "No such command 'check'. Did you mean 'validate'?" in result.output


def test_validate_of_a_bad_experiment_counts_files_not_scenarios(tmp_path: Path) -> None:
    name = str(_write(tmp_path, "name: arms\nscenario: nowhere.yaml\nreplicates: 2\n"))
    result = CliRunner().invoke(main, ["validate", name])
    assert result.exit_code == 3
    assert "error: 1 of 1 file(s) invalid" in result.output
