"""Generated documentation stays in step with the models."""

from __future__ import annotations

from pathlib import Path

from sim.schema_docs import render

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_format_page_is_current() -> None:
    page = (ROOT / "docs" / "scenario-format.md").read_text()
    assert page == render(), "run: python scripts/update_docs.py"


def test_docs_name_every_policy_kind() -> None:
    model = (ROOT / "docs" / "model.md").read_text()
    for kind in ("announcement", "mining_ban", "power_cutoff", "power_outage", "pool_service_ban",
                 "exchange_ban", "incentive", "lift"):
        assert f"`{kind}`" in model


def test_readme_worked_example_is_what_the_command_prints(tmp_path: Path) -> None:
    """The README's worked example is the tutorial with seed 1, printed as it is today."""
    from click.testing import CliRunner

    from cli import main

    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index("$ hashsim run tutorial -o results/tutorial-1 --seed 1") + 1
    end = next(i for i in range(start, len(readme)) if readme[i].startswith("wrote "))
    shown = readme[start:end]
    result = CliRunner().invoke(main, ["run", "tutorial", "-o", str(tmp_path / "t"), "--seed",
                                       "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == shown, "update the worked example in README.md"


def test_readme_commands_can_follow_one_another() -> None:
    """The worked example does not write where the first of the two commands did (it would
    stop: the folder exists), and the override compared with it runs on the same seed."""
    lines = (ROOT / "README.md").read_text().splitlines()

    def target(line: str) -> str:
        words = line.split()
        return words[words.index("-o") + 1]

    first = next(line for line in lines if line.startswith("pip install . &&"))
    example = next(line for line in lines if line.startswith("$ hashsim run tutorial"))
    assert target(example) != target(first)
    harsh = next(line for line in lines if "-o results/harsh" in line)
    compare = next(line for line in lines if line.startswith("hashsim compare"))
    assert "--seed 1" in example and "--seed 1" in harsh
    assert compare.split()[2:4] == [target(example), target(harsh)]


def test_scenario_format_page_has_a_section_for_every_model() -> None:
    """Every mapping a scenario file can hold is described: a model left out of the page
    (the points of a price table were) leaves its fields to be guessed from examples."""
    from sim.scenario import Scenario
    from sim.schema_docs import SECTIONS

    defs = set(Scenario.model_json_schema()["$defs"])
    assert defs - {model.__name__ for _, model in SECTIONS} == set()
