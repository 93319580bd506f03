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


def test_citation_file_names_the_packages_version() -> None:
    """CITATION.cff is valid YAML with the fields GitHub and Zenodo read, and its version is
    pyproject.toml's (a release that forgot it would be cited under the old one)."""
    import tomllib

    from ruamel.yaml import YAML

    cff = YAML(typ="safe").load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors", "type"} <= set(cff)
    assert cff["version"] == project["version"]
    assert cff["license"] == project["license"]["text"]


def test_a_run_repeated_from_its_run_json_is_identical(tmp_path: Path) -> None:
    """What README's "Citing a result" promises: `run --from run.json` repeats the run, and
    compare of the two folders finds identical inputs and no difference."""
    from click.testing import CliRunner

    from cli import main

    first, again = tmp_path / "first", tmp_path / "again"
    runner = CliRunner()
    args = ["run", str(ROOT / "scenarios" / "tutorial.yaml"), "--seed", "3", "-r", "2",
            "--set", "end=2021-04-30", "-q", "-o", str(first)]
    assert runner.invoke(main, args).exit_code == 0
    result = runner.invoke(main, ["run", "--from", str(first / "run.json"), "-q", "-o",
                                  str(again)])
    assert result.exit_code == 0, result.output
    for name in ("network", "regions", "pools", "flows", "decisions", "events", "summary"):
        assert (first / f"{name}.csv").read_bytes() == (again / f"{name}.csv").read_bytes()
    result = runner.invoke(main, ["compare", str(first), str(again), "--fail-above", "0"])
    assert result.exit_code == 0, result.output
    assert "inputs: identical" in result.output
