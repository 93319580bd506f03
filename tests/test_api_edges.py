"""The Python API at its edges: what `sim.run` returns goes to the figures and the report as a
results folder does, and a bad argument gets a plain message that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.errors import HashsimError, ResultsExistError
from sim.plots import FIGURES

SHORT = ["end=2021-03-31"]


@pytest.fixture(scope="module")
def results() -> sim.Results:
    return sim.run(sim.load("tutorial", SHORT), seed=1)


@pytest.fixture(scope="module")
def folder(results: sim.Results, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return results.write(tmp_path_factory.mktemp("api") / "run")


# ---------------------------------------------------------------------------- figures, report


def test_write_figures_takes_results_or_a_folder(results: sim.Results, folder: Path,
                                                 tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from sim.plots import write_figures

    a = write_figures(results, tmp_path / "a", "svg", only=["hashrate"])
    b = write_figures(str(folder), tmp_path / "b", "svg", only="hashrate")
    c = write_figures(folder, tmp_path / "c", "svg", only=["hashrate"])
    assert [p.name for p in a + b + c] == ["hashrate.svg"] * 3
    assert b[0].read_bytes() == c[0].read_bytes()


def test_an_unknown_figure_is_a_clear_error_everywhere(results: sim.Results,
                                                       tmp_path: Path) -> None:
    from sim.notebook import show
    from sim.plots import write_figures

    for call in (lambda: write_figures(results, tmp_path, only=["hashrate", "nope"]),
                 lambda: show(results, "nope")):
        with pytest.raises(ValueError, match="unknown figure 'nope'; one of hashrate,") as err:
            call()
        assert ", ".join(FIGURES) in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing drawn before the name was checked


def test_write_report_takes_results_or_a_folder(results: sim.Results, folder: Path,
                                                tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    from sim.report import build_report, write_report

    page = write_report(results, tmp_path / "page.html")
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert write_report(str(folder)) == folder / "report.html"
    assert build_report(folder) == (folder / "report.html").read_text(encoding="utf-8")
    with pytest.raises(HashsimError, match="give a file name"):
        write_report(results)  # in memory: no folder to put it in
    with pytest.raises(TypeError, match=r"expected a sim\.Results, a results folder"):
        write_report(42, tmp_path / "x.html")  # type: ignore[arg-type]


def test_the_notebook_takes_a_results_folder(folder: Path) -> None:
    pytest.importorskip("matplotlib")
    from sim.notebook import figure_png, results_html, show

    for where in (str(folder), folder):
        html = results_html(where)
        assert "<table class='summary'>" in html and "data:image/png;base64," in html
        png = figure_png(where, "regions")
        assert png is not None and png.startswith(b"\x89PNG")
        show(where, "regions")  # an IPython Image, or None outside IPython


# ---------------------------------------------------------------------------- sim.run, sim.load


@pytest.mark.parametrize(("kwargs", "kind", "message"), [
    ({"seed": -1}, ValueError, "seed must be a whole number (an int) of at least 0, not -1"),
    ({"seed": "1"}, TypeError, "seed must be a whole number (an int) of at least 0, not '1'"),
    ({"seed": 1.0}, TypeError, "seed must be a whole number"),
    ({"seed": True}, TypeError, "seed must be a whole number"),
    ({"replicates": 2.0}, TypeError,
     "replicates must be a whole number (an int) of at least 1, not 2.0"),
    ({"replicates": 0}, ValueError, "replicates must be a whole number (an int) of at least 1"),
])
def test_a_bad_seed_or_replicate_count_is_named(kwargs: dict, kind: type[Exception],
                                                message: str) -> None:
    scenario = sim.load("tutorial", SHORT)
    with pytest.raises(kind) as err:
        sim.run(scenario, **kwargs)
    assert isinstance(err.value, HashsimError)  # the CLI prints it without a traceback
    assert str(err.value).startswith(message)


def test_a_numpy_integer_seed_is_a_seed(results: sim.Results) -> None:
    np = pytest.importorskip("numpy")
    again = sim.run(sim.load("tutorial", SHORT), seed=np.int64(1), replicates=np.int32(1))
    assert again.seed == 1 and type(again.seed) is int
    assert again.network.equals(results.network)


def test_one_override_string_is_one_override() -> None:
    assert sim.load("tutorial", overrides="end=2021-06-30").end.isoformat() == "2021-06-30"
    with pytest.raises(TypeError, match="overrides must be PATH=VALUE strings"):
        sim.load("tutorial", [3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="path must be a scenario file"):
        sim.load(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Results


def test_writing_over_a_folder_names_the_python_argument(results: sim.Results,
                                                         tmp_path: Path) -> None:
    with pytest.raises(ResultsExistError, match=r"pass force=True to replace it \(the CLI's "
                       r"--force\)"):
        results.write(tmp_path)
    assert results.write(tmp_path, force=True) == tmp_path


def test_the_results_docstring_points_to_a_file_that_exists() -> None:
    root = Path(__file__).resolve().parents[1]
    doc = sim.Results.__doc__ or ""
    assert "DESIGN.md" not in doc and "results/README.md" in doc
    assert (root / "results" / "README.md").is_file()
