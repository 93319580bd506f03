"""The fast CSV writer (sim/csvtext.py) writes exactly pandas' text, or leaves it to pandas."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.batch import run_batch
from sim.csvtext import csv_text, write_csv
from sim.experiments.plan import Task
from sim.experiments.runner import decorate, encode, encode_run
from sim.results import TABLES
from sim.summary import summarize


def pandas_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


MARKS = st.text(alphabet=st.sampled_from(',"\n \'\tx;é\x00\u2028'), max_size=6)
TEXT = st.one_of(st.text(max_size=8), MARKS)
MISSING = st.one_of(st.none(), st.just(float("nan")))
FLOATS = st.one_of(
    st.floats(),  # NaN, ±inf, subnormals
    st.integers(-(2**60), 2**60).map(float),
    st.sampled_from([0.0, -0.0, 60.0, 1e16, 1e-4, 1e-5, 1e18, 9999999999999998.0, 5e-324,
                     1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 1 / 3]),
)
#: The column kinds csv_text writes: kind → (values, dtype).
WRITTEN: dict[str, tuple[st.SearchStrategy, str]] = {
    "float64": (FLOATS, "float64"),
    "int64": (st.integers(-(2**63), 2**63 - 1), "int64"),
    "int32": (st.integers(-(2**31), 2**31 - 1), "int32"),
    "uint64": (st.integers(0, 2**64 - 1), "uint64"),
    "bool": (st.booleans(), "bool"),
    "text": (st.one_of(TEXT, MISSING), "object"),
    "date": (st.one_of(st.dates(), MISSING), "object"),
    "str": (st.one_of(TEXT, st.none()), "str"),
    "string": (st.one_of(TEXT, st.none()), "string"),
}
#: Kinds it may leave to pandas.
OTHER: dict[str, tuple[st.SearchStrategy, str]] = {
    "mixed": (st.one_of(TEXT, st.integers(), st.floats(), st.dates()), "object"),
    "carriage return": (st.text(alphabet="\r,x"), "object"),
    "float32": (st.floats(width=32), "float32"),
    "category": (TEXT, "category"),
    "Int64": (st.one_of(st.integers(-(2**63), 2**63 - 1), st.none()), "Int64"),
}


@st.composite
def frames(draw: st.DrawFn, kinds: dict[str, tuple[st.SearchStrategy, str]]) -> pd.DataFrame:
    rows = draw(st.integers(0, 20))
    chosen = draw(st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=6))
    names = draw(st.lists(st.one_of(TEXT, st.sampled_from(["a", "b"])),
                          min_size=len(chosen), max_size=len(chosen)))
    columns = {}
    for i, kind in enumerate(chosen):
        values, dtype = kinds[kind]
        columns[i] = pd.Series(draw(st.lists(values, min_size=rows, max_size=rows)), dtype=dtype)
    df = pd.DataFrame(columns)
    df.columns = names  # maybe repeated, empty or needing quotes
    return df


@settings(max_examples=200, deadline=None)
@given(frames(WRITTEN))
def test_random_frames_are_pandas_text(df: pd.DataFrame) -> None:
    text = csv_text(df)
    assert text is None or text == pandas_text(df)


@settings(max_examples=200, deadline=None)
@given(frames(WRITTEN | OTHER))
def test_random_frames_are_pandas_text_or_left_to_pandas(df: pd.DataFrame) -> None:
    text = csv_text(df)
    assert text is None or text == pandas_text(df)


PLAIN = {
    "float64": pd.Series([0.1, np.nan, -0.0, np.inf, -np.inf, 1e16, 60.0, 5e-324, 1e18]),
    "int64": pd.Series([0, -(2**63), 2**63 - 1, 7, 8, 9, 10, 11, 12]),
    "int32": pd.Series(range(9), dtype="int32"),
    "bool": pd.Series([True, False] * 4 + [True]),
    "text": pd.Series(["a,b", 'say "hi"', "two\nlines", "", None, np.nan, "é", "x", "y"],
                      dtype=object),
    "date": pd.Series([datetime.date(2021, 1, d) for d in range(1, 9)] + [None], dtype=object),
    "str": pd.Series(["a", None, "", "b,c", "d", "e", "f", "g", "h"], dtype="str"),
    "string": pd.Series(["a", None, "", "b", "c", "d", "e", "f", "g"], dtype="string"),
}


@pytest.mark.parametrize("kind", sorted(PLAIN))
def test_each_kind_is_written_here(kind: str) -> None:
    column = PLAIN[kind]
    for df in (pd.DataFrame({kind: column}), pd.DataFrame({"key": 1, kind: column}),
               pd.DataFrame({kind: column}).iloc[:0]):
        text = csv_text(df)
        assert text is not None
        assert text == pandas_text(df)


def test_a_column_alone_writes_an_empty_field_quoted() -> None:
    df = pd.DataFrame({"": [np.nan, 1.0]})
    assert csv_text(df) == '""\n""\n1.0\n' == pandas_text(df)


@pytest.mark.parametrize("df", [
    pd.DataFrame(index=range(2)),
    pd.DataFrame({0: [1.0]}),
    pd.DataFrame({"a": pd.Series([1.5], dtype="float32")}),
    pd.DataFrame({"a": pd.Series(["x"], dtype="category")}),
    pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}),
    pd.DataFrame({"a": ["carriage\rreturn"]}),
    pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])),
])
def test_other_tables_are_left_to_pandas(df: pd.DataFrame) -> None:
    assert csv_text(df) is None


@pytest.fixture(scope="module")
def tutorial() -> dict[str, pd.DataFrame]:
    scenario = sim.load("tutorial")
    tables = run_batch(scenario, 1, [0])[0]
    tables["summary"] = summarize(scenario, tables)
    return tables


@pytest.mark.parametrize(("name", "overrides"), [
    ("sparkpool-2021", []),
    ("china-2021", ["end=2021-06-15"]),
])
def test_scenario_tables_are_pandas_text(name: str, overrides: list[str]) -> None:
    scenario = sim.load(name, overrides)
    tables = run_batch(scenario, 3, [1])[0]
    tables["summary"] = summarize(scenario, tables)
    for table in TABLES:
        df = tables[table].drop(columns=["replicate"])
        text = csv_text(df)
        assert text is not None, table
        assert text == pandas_text(df), table


def test_tutorial_tables_are_pandas_text(tutorial: dict[str, pd.DataFrame]) -> None:
    assert set(TABLES) <= set(tutorial)
    for table in TABLES:
        for df in (tutorial[table], tutorial[table].drop(columns=["replicate"])):
            text = csv_text(df)
            assert text is not None, table
            assert text == pandas_text(df), table


def test_shards_are_the_decorated_tables(tutorial: dict[str, pd.DataFrame]) -> None:
    task = Task(sample=2, arm="ban", arm_index=1, replicate=0, stream_sample=2, seed=1,
                scenario_file="tutorial.yaml", scenario_text="", overrides=(),
                params=(("rate", 0.25), ("strict", True), ("label", "a,b"), ("n", 3)))
    odd = [("x", np.float64(0.1)), ("nan", float("nan")), ("quote", 'say "hi"'), ("e", ""),
           ("big", 1e300), ("neg", -7), ("np_int", np.int64(3)), ("np_bool", np.bool_(True))]
    for params in (task.params, tuple(odd)):
        keyed = dataclasses.replace(task, params=params)
        assert encode_run(tutorial["network"], keyed) == encode(
            decorate(tutorial["network"], keyed), "csv"), params
    # quoted fields on one line (the events' "height 1,016"), and across lines
    broken = tutorial["events"].assign(description="two\nlines, quoted")
    for name, df in [*((t, tutorial[t]) for t in TABLES), ("broken events", broken)]:
        assert encode_run(df, task) == encode(decorate(df, task), "csv"), name


def test_floats_are_numpys_text() -> None:
    """pandas writes a float64 column with numpy's ``astype(str)``; csv_text uses repr."""
    bits = np.random.default_rng(7).integers(0, 2**64, size=200_000, dtype=np.uint64)
    values = bits.view(np.float64)
    assert values.astype(str).tolist() == list(map(repr, values.tolist()))


def test_written_files_are_pandas_files(tutorial: dict[str, pd.DataFrame], tmp_path) -> None:
    for table in TABLES:
        write_csv(tutorial[table], tmp_path / "ours.csv")
        tutorial[table].to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n")
        assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
