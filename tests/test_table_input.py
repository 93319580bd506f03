"""Bad result tables and manifests (QA): every command that reads them says which file, line and
column is wrong (exit code 3) instead of a traceback or a silent default, through one schema
(`sim.rundata.SCHEMAS`) checked wherever a table is read; and NaN options are usage errors."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.commands.experiments import compare, sensitivity, summarize
from sim.commands.visual import report
from sim.rundata import TableError, load_run, read_table
from tests.test_compare import tutorial_runs
from tests.test_sensitivity import _fake_sweep


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short tutorial run of 3 replicates."""
    return tutorial_runs(tmp_path_factory.mktemp("table_input"), ("a",))["a"]


def _invoke(command: click.Command, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: the test fails with it
    return result.exit_code, result.output


def _copy(run: Path, folder: Path, table: str = "",
          edit: Callable[[list[str]], list[str]] | None = None) -> Path:
    """A copy of the run's folder with the lines of ``table``.csv changed by ``edit``."""
    shutil.copytree(run, folder)
    if edit is not None:
        path = folder / f"{table}.csv"
        path.write_text("".join(edit(path.read_text().splitlines(keepends=True))))
    return folder


def _set_field(line: str, index: int, value: str) -> str:
    fields = line.rstrip("\n").split(",")
    fields[index] = value
    return ",".join(fields) + "\n"


# ---------------------------------------------------------------------------- 1. bad cells


def test_a_bad_cell_or_row_names_the_file_column_and_line(run: Path, tmp_path: Path) -> None:
    col = list(pd.read_csv(run / "network.csv", nrows=0).columns).index("hashrate_hs")
    text = _copy(run, tmp_path / "text", "network",
                 lambda lines: [*lines[:4], _set_field(lines[4], col, "abc"), *lines[5:]])
    where = "network.csv, line 5: column hashrate_hs: 'abc' is not a number"
    for command, args in ((compare, (run / "network.csv", text / "network.csv")),
                          (compare, (run, text)), (summarize, (text, "-o", tmp_path / "s")),
                          (report, (text, "-o", tmp_path / "r.html"))):
        code, out = _invoke(command, *args)
        assert code == 3 and where in out and "Traceback" not in out, out
    with pytest.raises(TableError, match=where):
        load_run(text)  # what `hashsim plot` reads

    value = list(pd.read_csv(run / "summary.csv", nrows=0).columns).index("value")
    bad = _copy(run, tmp_path / "sumbad", "summary",
                lambda lines: [*lines[:2], _set_field(lines[2], value, "oops"), *lines[3:]])
    code, out = _invoke(summarize, bad, "-o", tmp_path / "s2")
    assert code == 3 and "summary.csv, line 3: column value: 'oops' is not a number" in out, out

    ragged = _copy(run, tmp_path / "ragged", "network",
                   lambda lines: [*lines[:10], lines[10].rstrip("\n") + ",extra\n", *lines[11:]])
    code, out = _invoke(compare, run / "network.csv", ragged / "network.csv")
    assert code == 3 and "network.csv, line 11: 11 fields, but the header has 10" in out, out


@pytest.mark.parametrize(("table", "column", "value", "what"), [
    ("regions", "rigs_online", "-3", "a count (a whole number, 0 or more)"),
    ("flows", "rigs_arrived", "2.5", "a count (a whole number, 0 or more)"),
    ("network", "blocks", "inf", "a count (a whole number, 0 or more)"),
    ("network", "hashrate_hs", "-1e18", "an amount (a finite number, 0 or more)"),
    ("facilities", "used_mw", "inf", "an amount (a finite number, 0 or more)"),
    ("pools", "share", "1.5", "a share (0 to 1)"),
    ("regions", "share", "-0.2", "a share (0 to 1)"),
])
def test_a_figure_its_column_cannot_hold_is_refused(run: Path, tmp_path: Path, table: str,
                                                    column: str, value: str, what: str
                                                    ) -> None:
    """A count below 0 or with a fraction, a negative or infinite amount, a share outside 0–1
    is a hand-edited or damaged table: summed into a figure, it would mislead without a word.
    """
    col = list(pd.read_csv(run / f"{table}.csv", nrows=0).columns).index(column)
    bad = _copy(run, tmp_path / "bad", table,
                lambda lines: [*lines[:3], _set_field(lines[3], col, value), *lines[4:]])
    shown = value if value.lstrip("-").isdigit() else repr(float(value))  # as pandas reads it
    where = f"{table}.csv, line 4: column {column}: {shown} is not"
    code, out = _invoke(report, bad, "-o", tmp_path / "r.html")
    assert code == 3 and where in out and what in out and "Traceback" not in out, out
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(TableError, match=re.escape(where)):
        load_run(bad)  # what `hashsim plot` reads
    # the run's own table, as written, passes: shares summed by floats stay within 0–1
    read_table(run / f"{table}.csv", kind=table)


def test_parquet_tables_are_checked_alike(run: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    network = pd.read_csv(run / "network.csv")
    network["hashrate_hs"] = network["hashrate_hs"].astype(str)
    network.loc[6, "hashrate_hs"] = "abc"
    network.to_parquet(tmp_path / "network.parquet")
    with pytest.raises(TableError, match=r"network.parquet, row 7: column hashrate_hs: 'abc'"):
        read_table(tmp_path / "network.parquet", ["date", "hashrate_hs"], kind="network")


# ---------------------------------------------------------------------------- 2. compare


def test_compare_refuses_tables_of_other_kinds_and_bad_rows(run: Path, tmp_path: Path
                                                           ) -> None:
    for other in ("pools", "regions"):
        code, out = _invoke(compare, run / "network.csv", run / f"{other}.csv")
        assert code == 3 and "is a network series table but" in out, out
        assert f"is a {other} series table" in out and "only A has difficulty" in out
    # a table without a column it must have is refused, as a file and in a folder
    network = pd.read_csv(run / "network.csv")
    nohash = _copy(run, tmp_path / "nohash")
    network.drop(columns="hashrate_hs").to_csv(nohash / "network.csv", index=False)
    for a, b in ((run / "network.csv", nohash / "network.csv"), (run, nohash)):
        code, out = _invoke(compare, a, b, "--fail-above", "1")
        assert code == 3 and "missing column hashrate_hs" in out and "check passed" not in out
    # a series one side lacks has values on one side only: above any --fail-above
    network.drop(columns="difficulty").to_csv(tmp_path / "nodiff.csv", index=False)
    code, out = _invoke(compare, run / "network.csv", tmp_path / "nodiff.csv", "--fail-above",
                        "1000")
    assert code == 1 and "difficulty has no date with a value on both sides" in out, out
    assert "only in A: difficulty" in out

    dup = _copy(run, tmp_path / "dup", "network", lambda lines: [*lines, lines[5]])
    code, out = _invoke(compare, run / "network.csv", dup / "network.csv")
    assert code == 3, out
    assert f"line {len(network) + 2}: a second row for replicate 0, date" in out
    assert "(the first is on line 6)" in out
    date = _copy(run, tmp_path / "date", "network",
                 lambda lines: [lines[0], lines[1].replace("2021-01-01", "2021-13-45"),
                                *lines[2:]])
    code, out = _invoke(compare, run / "network.csv", date / "network.csv")
    assert code == 3 and "line 2: column date: '2021-13-45' is not a date" in out, out


# ---------------------------------------------------------------------------- 3. summarize


def test_summarize_refuses_what_plot_and_report_refuse(run: Path, tmp_path: Path) -> None:
    nohash = _copy(run, tmp_path / "nohash")
    pd.read_csv(run / "network.csv").drop(columns="hashrate_hs").to_csv(
        nohash / "network.csv", index=False)
    code, out = _invoke(summarize, nohash, "-o", tmp_path / "s1")
    assert code == 3 and "missing column hashrate_hs" in out, out

    # cut short in the middle of the last row's value, as a full disk or a killed copy does
    trunc = _copy(run, tmp_path / "trunc", "summary",
                  lambda lines: [*lines[:-1], lines[-1][:lines[-1].index(".") + 3]])
    code, out = _invoke(summarize, trunc, "-o", tmp_path / "s2")
    assert code == 3 and "summary.csv, line" in out and "cut short?" in out, out
    with pytest.raises(TableError, match="cut short"):
        load_run(trunc)

    badman = _copy(run, tmp_path / "badman")
    (badman / "run.json").unlink()
    (badman / "manifest.json").write_text('{"hashsim_experiment": 1\n"name": "x"}')
    code, out = _invoke(summarize, badman, "-o", tmp_path / "s3")
    assert code == 3 and "manifest.json: unreadable" in out, out


# ---------------------------------------------------------------------------- 4. sensitivity


@pytest.mark.parametrize(("change", "message"), [
    ({"arms": "notalist", "parameters": 5},
     "'parameters' is 5, not the sweep's parameters by name; 'arms' is 'notalist'"),
    ({"num_samples": 9}, "num_samples is 9, but a morris design of 200 trajectories and 3 "
                         "parameters has 200 × (3 + 1) = 800 points"),
    ({"design": {"kind": "sobol", "base_samples": 4}}, "a sobol design of 4 base samples"),
])
def test_sensitivity_says_what_is_wrong_with_a_manifest(tmp_path: Path, change: dict[str, object],
                                                        message: str) -> None:
    folder = _fake_sweep(tmp_path, "morris")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | change))
    code, out = _invoke(sensitivity, folder, "--metric", "drop", "--resamples", "10")
    assert code == 3 and "manifest.json: " in out and message in out, out


# ---------------------------------------------------------------------------- 5. NaN options


def test_nan_and_inf_options_are_usage_errors(run: Path, tmp_path: Path) -> None:
    folder = _fake_sweep(tmp_path, "morris")
    for command, args in ((compare, (run, run, "--fail-above", "nan")),
                          (compare, (run, run, "--fail-above", "inf")),
                          (compare, (run, run, "--confidence", "NaN")),
                          (summarize, (run, "-o", tmp_path / "s", "--confidence", "nan")),
                          (sensitivity, (folder, "--metric", "drop", "--confidence", "nan"))):
        code, out = _invoke(command, *args)
        assert code == 2 and "is not a finite number" in out, out
    assert not (tmp_path / "s").exists()
