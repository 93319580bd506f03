"""`hashsim run --from run.json`: what it repeats, and what it says when it cannot promise the
same results or cannot read the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

SHORT = ["--set", "end=2021-01-20"]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay") / "first"
    code, _, err = invoke("run", "tutorial", "--seed", "7", *SHORT, "-o", str(out), "-q")
    assert code == 0, err
    return out


def test_the_recorded_scenario_carries_the_seed_used(first: Path, tmp_path: Path) -> None:
    """The scenario of run.json, saved alone and run, is the same run (its seed was the
    file's, not --seed's)."""
    doc = json.loads((first / "run.json").read_text())
    assert doc["seed"] == doc["scenario"]["seed"] == 7
    alone = tmp_path / "alone.json"  # (JSON is YAML)
    alone.write_text(json.dumps(doc["scenario"]))
    code, _, err = invoke("run", str(alone), "-o", str(tmp_path / "again"), "-q")
    assert code == 0, err
    for name in ("network.csv", "regions.csv", "summary.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (first / name).read_bytes()


def _edited(first: Path, tmp_path: Path, edit: dict) -> Path:
    doc = json.loads((first / "run.json").read_text())
    for dotted, value in edit.items():
        *path, last = dotted.split(".")
        node = doc
        for key in path:
            node = node[key]
        node[last] = value
    out = tmp_path / "run.json"
    out.write_text(json.dumps(doc))
    return out


def test_a_replay_warns_where_the_same_results_are_not_promised(first: Path, tmp_path: Path
                                                                ) -> None:
    code, _, err = invoke("run", "--from", str(first / "run.json"), "-o", str(tmp_path / "a"),
                          "-q")
    assert code == 0 and "warning" not in err
    assert (tmp_path / "a" / "network.csv").read_bytes() == (first / "network.csv").read_bytes()
    old = _edited(first, tmp_path, {"versions.numpy": "1.26.4"})
    code, _, err = invoke("run", "--from", str(old), "-o", str(tmp_path / "b"), "-q")
    assert code == 0 and "written with numpy 1.26.4" in err
    edited = _edited(first, tmp_path, {"scenario.end": "2021-01-15"})
    code, _, err = invoke("run", "--from", str(edited), "-o", str(tmp_path / "c"), "-q")
    assert code == 0 and "no longer matches its scenario_hash" in err


@pytest.mark.parametrize(("content", "message"), [
    ('{"x": 1}', "not a hashsim run.json (no scenario, seed, replicates"),
    ("[1, 2]", "not a hashsim run.json"),
    ("{", "not a readable run.json"),
])
def test_a_file_that_is_not_a_run_json_is_an_input_error(content: str, message: str,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(content)
    code, _, err = invoke("run", "--from", str(path), "-o", str(tmp_path / "o"))
    assert code == 3 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bad_values_in_a_run_json_are_named(first: Path, tmp_path: Path) -> None:
    code, _, err = invoke("run", "--from", str(_edited(first, tmp_path, {"seed": "abc"})),
                          "-o", str(tmp_path / "o"))
    assert code == 3 and 'seed must be a whole number ≥ 0, not "abc"' in err
    bad = _edited(first, tmp_path, {"scenario.bogus": 1, "scenario.behaviour.horizon_days": -3})
    code, _, err = invoke("run", "--from", str(bad), "-o", str(tmp_path / "o"))
    assert code == 3
    # in the words of a scenario file's errors (sim.validation), not pydantic's
    assert "scenario.bogus: unknown key 'bogus'; expected one of: name," in err
    assert "scenario.behaviour.horizon_days: expected a number > 0, got -3" in err
    assert not (tmp_path / "o").exists()


def test_run_checks_a_scenario_changed_since_it_was_loaded() -> None:
    """model_copy(update=...) skips validation and lists can be edited in place: run checks
    the scenario again, and keeps a copy of its own for the results."""
    import datetime as dt

    import sim
    from sim.errors import ScenarioError

    base = sim.load("tutorial", ["end=2021-01-20"])
    with pytest.raises(ScenarioError, match=r"end .* must be after start"):
        sim.run(base.model_copy(update={"end": dt.date(2020, 1, 1)}), seed=1)
    with pytest.raises(ScenarioError, match="expected at least 1 item"):
        sim.run(base.model_copy(update={"regions": []}), seed=1)
    edited = sim.load("tutorial", ["end=2021-01-20"])
    edited.regions.append(edited.regions[-1])
    with pytest.raises(ScenarioError, match="duplicate region name"):
        sim.run(edited, seed=1)
    results = sim.run(base, seed=1)
    base.regions.append(base.regions[-1])  # (after the run: its provenance stays as run)
    assert len(results.scenario.regions) == len(base.regions) - 1


def test_prepare_checks_its_arguments() -> None:
    from sim.experiments.plan import prepare
    from sim.results import ArgumentError, ArgumentTypeError

    for seed in ("1", 1.5, True):
        with pytest.raises(ArgumentTypeError, match="seed must be a whole number"):
            prepare("tutorial-sweep", seed=seed)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="seed must be a whole number"):
        prepare("tutorial-sweep", seed=-1)
    with pytest.raises(ArgumentTypeError, match="path must be an experiment file"):
        prepare(None)  # type: ignore[arg-type]
    one = prepare("tutorial-sweep", extra_overrides="end=2021-03-31")  # one string: one --set
    assert one.extra_overrides == ("end=2021-03-31",)


def test_run_sweep_checks_its_arguments_before_the_folder(tmp_path: Path) -> None:
    from sim.experiments.plan import prepare
    from sim.experiments.runner import SweepInterrupted, run_sweep
    from sim.results import ArgumentError, ArgumentTypeError

    plan = prepare("tutorial-sweep")
    for kwargs, error in (({"batch": "x"}, ArgumentTypeError), ({"on_done": 3}, ArgumentTypeError),
                          ({"jobs": 0}, ArgumentError), ({"batch": 0}, ArgumentError)):
        with pytest.raises(error):
            run_sweep(plan, tmp_path / "s", **kwargs)  # type: ignore[arg-type]
        assert not (tmp_path / "s").exists(), kwargs
    with pytest.raises(ArgumentTypeError, match="plan must be a Plan"):
        run_sweep("tutorial-sweep", tmp_path / "s")  # type: ignore[arg-type]
    # Ctrl-C in a sweep stays a KeyboardInterrupt: `except Exception` does not swallow it
    assert issubclass(SweepInterrupted, KeyboardInterrupt)
    assert not issubclass(SweepInterrupted, Exception)


def test_statistics_arguments_are_checked_as_the_cli_checks_them(tmp_path: Path) -> None:
    import sim
    from sim.experiments.compare import compare, load_side
    from sim.experiments.ensemble import summarize_results
    from sim.results import ArgumentError, ArgumentTypeError

    folder = sim.run(sim.load("tutorial", ["end=2021-01-20"]), seed=1, replicates=2).write(
        tmp_path / "r")
    for bad, error in ((2, ArgumentError), (float("nan"), ArgumentError),
                       ("0.9", ArgumentTypeError)):
        with pytest.raises(error, match="confidence"):
            summarize_results(folder, confidence=bad)  # type: ignore[arg-type]
        with pytest.raises(error, match="confidence"):
            compare(load_side(folder), load_side(folder), confidence=bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="load_side"):
        compare(folder, folder)  # type: ignore[arg-type]
    # one --metric pattern, not its letters (each letter matched nothing: a UsageError)
    result = compare(load_side(folder), load_side(folder), patterns="drop")
    assert "drop" in set(result.metrics["metric"])


def test_an_empty_path_is_named_as_such() -> None:
    import sim
    from sim.results import ArgumentError

    for call in (sim.load, sim.run):
        with pytest.raises(ArgumentError, match="path is empty"):
            call("")
