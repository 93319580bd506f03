"""The Python API as a notebook uses it: short reprs, `==` on results, submodules reachable
from ``import sim``, and bad arguments named before anything runs or is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.errors import HashsimError, ScenarioError
from sim.results import ArgumentError, ArgumentTypeError

SHORT = ["end=2021-03-15"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scenario() -> sim.Scenario:
    return sim.load("tutorial", SHORT)


@pytest.fixture(scope="module")
def results(scenario: sim.Scenario) -> sim.Results:
    return sim.run(scenario, seed=1, replicates=2)


# ---------------------------------------------------------------------------- reprs


def test_a_results_repr_is_one_short_line(results: sim.Results) -> None:
    text = repr(results)
    assert "\n" not in text and len(text) < 400, text
    assert text.startswith("<sim.Results 'tutorial', 2021-01-01 … 2021-03-15, seed 1, "
                           "2 replicates; tables: network 148×10")
    assert str(results) == text


def test_a_large_scenario_does_not_flood_the_results_repr() -> None:
    big = sim.load("china-2021")
    assert len(repr(sim.Results(big, 7, 1, {}))) < 200  # the scenario's own repr is ~70 kB


def test_a_loaded_run_has_a_short_repr(results: sim.Results, tmp_path: Path) -> None:
    from sim.plots import RunData, load_run

    data = load_run(results.write(tmp_path / "run"))
    text = repr(data)
    assert "\n" not in text and len(text) < 400, text
    assert text.startswith("<sim.plots.RunData 'tutorial', 2021-01-01 … 2021-03-15, 2 runs")
    assert len(repr(RunData.from_results(results))) < 400


# ---------------------------------------------------------------------------- equality, seeds


def test_results_compare_by_value(scenario: sim.Scenario, results: sim.Results) -> None:
    again = sim.run(scenario, seed=1, replicates=2)
    assert again == results  # the wall time in the provenance differs: left out
    assert again is not results and again.provenance is not results.provenance
    other = sim.run(scenario, seed=2, replicates=2)
    assert other != results
    assert (results == "tutorial") is False


def test_replicate_k_is_the_same_whatever_the_number(scenario: sim.Scenario,
                                                     results: sim.Results) -> None:
    one = sim.run(scenario, seed=1, replicates=1)
    for name, table in results.tables.items():
        first = table[table["replicate"] == 0].reset_index(drop=True)
        assert first.equals(one.tables[name]), name


def test_the_written_tables_read_back_bit_for_bit(results: sim.Results, tmp_path: Path) -> None:
    folder = results.write(tmp_path / "run")
    back = pd.read_csv(folder / "network.csv")
    for col in ("hashrate_hs", "difficulty", "revenue_usd", "blocks"):
        assert back[col].equals(results.network[col]), col
    assert back["date"].tolist() == [d.isoformat() for d in results.network["date"]]


# ---------------------------------------------------------------------------- bad arguments


def test_to_numpy_names_the_tables(results: sim.Results) -> None:
    assert set(results.to_numpy("pools")) == set(results.pools.columns)
    with pytest.raises(ArgumentError, match="unknown table 'nope'; one of network, regions"):
        results.to_numpy("nope")


def test_an_unknown_attribute_names_the_tables(results: sim.Results) -> None:
    with pytest.raises(AttributeError, match=r"no attribute 'netwrk' \(its tables: network,"):
        results.netwrk  # noqa: B018
    assert {"network", "summary", "write"} <= set(dir(results))  # tab completion


@pytest.mark.parametrize(("extra", "kind", "message"), [
    ({"network": "pools"}, ArgumentError, "would replace the run's own network.csv"),
    ({"run": "pools"}, ArgumentError, "would replace the run's own run.json"),
    ({"sub/x": "pools"}, ArgumentError, "must be a plain file name"),
    ({"..": "pools"}, ArgumentError, "must be a plain file name"),
    ({"mine": [1, 2]}, TypeError, "must be a pandas DataFrame, not list"),
    (["pools"], TypeError, "extra must be a dict"),
])
def test_a_bad_extra_table_writes_nothing(results: sim.Results, tmp_path: Path, extra: object,
                                          kind: type[Exception], message: str) -> None:
    if isinstance(extra, dict):
        extra = {k: results.tables[v] if v == "pools" else v for k, v in extra.items()}
    with pytest.raises(kind, match=message) as err:
        results.write(tmp_path / "out", extra=extra)  # type: ignore[arg-type]
    assert isinstance(err.value, HashsimError)
    assert not list(tmp_path.iterdir())


def test_an_extra_table_is_written_beside_the_run(results: sim.Results, tmp_path: Path) -> None:
    folder = results.write(tmp_path / "out", extra={"mine": results.pools.head(3)})
    assert len(pd.read_csv(folder / "mine.csv")) == 3
    assert pd.read_csv(folder / "network.csv").shape == results.network.shape


def test_a_directory_that_is_not_a_path_is_named(results: sim.Results) -> None:
    with pytest.raises(ArgumentTypeError, match="directory must be a folder's path"):
        results.write(3)  # type: ignore[arg-type]


def test_a_hook_that_is_not_a_function_is_refused_before_the_run(
        scenario: sim.Scenario) -> None:
    for kwargs in ({"on_day": 3}, {"on_start": "print"}):
        with pytest.raises(ArgumentTypeError, match=f"{next(iter(kwargs))} must be a function"):
            sim.run(scenario, seed=1, **kwargs)


def test_run_names_its_scenario_argument() -> None:
    with pytest.raises(ArgumentTypeError, match=r"scenario must be a sim\.Scenario"):
        sim.run(None)  # type: ignore[arg-type]
    with pytest.raises(sim.ScenarioError, match="file not found"):
        sim.run("no-such-scenario.yaml")
    with pytest.raises(TypeError, match="unexpected keyword argument 'sed'"):
        sim.run("tutorial", sed=1)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------- the package


def test_errors_are_reachable_from_the_package() -> None:
    assert sim.ScenarioError is ScenarioError and sim.ArgumentError is ArgumentError
    assert sim.ArgumentTypeError is ArgumentTypeError and sim.HashsimError is HashsimError
    assert issubclass(sim.ResultsExistError, sim.HashsimError)
    with pytest.raises(AttributeError, match="module 'sim' has no attribute 'nope'"):
        sim.nope  # noqa: B018


def test_submodules_work_right_after_import_sim(tmp_path: Path) -> None:
    code = ("import sim; print(sim.plots.load_run.__name__, sim.notebook.show.__name__, "
            "sim.errors.ScenarioError.__name__, sim.experiments.run_sweep.__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=False, timeout=60,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["load_run", "show", "ScenarioError", "run_sweep"]


def test_help_answers_units_returns_and_errors() -> None:
    doc = sim.__doc__ or ""
    for word in ("H/s", "MWh", "USD", "ScenarioError", "ArgumentError", "load_run", "seed"):
        assert word in doc, word
    run_doc = sim.run.__doc__ or ""
    for word in ("Results", "ArgumentError", "on_day", "replicates", "seed"):
        assert word in run_doc, word
    assert "on_day" in sim.run.__code__.co_varnames  # a named argument, not **kwargs
    assert "H/s" in (sim.Results.__doc__ or "") and "==" in (sim.Results.__doc__ or "")


def test_scenario_plan_and_comparison_reprs_are_short(tmp_path: Path) -> None:
    """A notebook cell ending in a scenario printed 70 kB (china-2021), a plan 17 kB and a
    comparison 30 kB with whole tables inside."""
    import sim
    from sim.experiments import compare as cmp
    from sim.experiments.plan import prepare

    scenario = sim.load("china-2021")
    assert len(repr(scenario)) < 200 and "'china-2021'" in repr(scenario)
    assert len(repr(prepare("tutorial-sweep"))) < 400
    res = sim.run(sim.load("tutorial", ["end=2021-02-15"]), seed=1)
    for side in ("a", "b"):
        res.write(tmp_path / side)
    found = cmp.compare(cmp.load_side(tmp_path / "a"), cmp.load_side(tmp_path / "b"))
    assert len(repr(found)) < 1000


def test_a_bad_override_in_python_does_not_speak_of_the_cli() -> None:
    import sim

    with pytest.raises(sim.ScenarioError) as err:
        sim.load("tutorial", ["end"])
    assert "expected PATH=VALUE" in str(err.value.issues[0]) and "--set behaviour" not in \
        str(err.value.issues[0])
