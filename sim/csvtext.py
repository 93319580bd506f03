"""CSV text of a results table, the same as pandas writes it, in a fraction of the time.

A sweep writes every replicate's tables as CSV (`sim.experiments.runner.encode_run`), as
does a run's `Results.write` (`write_csv`), and
``df.to_csv(index=False, lineterminator="\\n")`` spends most of its time on its own machinery.
`csv_text` formats each column once into a list of strings and joins the rows, for the column
kinds the result tables have: float64, integers, bool, text (object or string dtype) and dates.

The shard bytes stay pandas' bytes: the writer is checked equal to pandas on random frames and
on real tables (tests/test_csvtext.py), and for anything else it returns None, so that the
caller uses pandas. What it follows from pandas, with the default ``quoting=QUOTE_MINIMAL``:

- a missing value is an empty field; a float is its shortest repr (NaN missing), a bool
  ``True``/``False``, a date its ISO form;
- a field holding a comma, a double quote or a line break is quoted, its quotes doubled; a
  line of one empty field is written ``""``;
- a table without rows is its header line.

The csv module of Python 3.11 leaves a carriage return unquoted with pandas' line terminator;
so as not to depend on that, a text holding one goes to pandas.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: What makes the csv module quote a field (with pandas' delimiter and line terminator).
QUOTED = (",", '"', "\n")
#: Text whose quoting is left to pandas.
UNSURE = "\r"
BOOLS = ("False", "True")


def csv_text(df: pd.DataFrame, skip: str | None = None) -> str | None:
    """``df.to_csv(index=False, lineterminator="\\n")`` (of `df` without its column `skip`),
    or None for a table it does not write (other dtypes, mixed object columns, non-text
    column names, no columns)."""
    names = [name for name in df.columns.tolist() if name != skip]  # (a MultiIndex: tuples)
    header = _quote(names) if names and all(type(name) is str for name in names) else None
    if header is None:
        return None
    columns = []
    for name, column in df.items():
        if name == skip:
            continue
        fields = _column(column)
        if fields is None:
            return None
        columns.append(fields)
    if len(columns) == 1:  # the csv module writes a line of one empty field as ""
        header, columns = _alone(header), [_alone(columns[0])]
    lines = "\n".join(map(",".join, zip(*columns, strict=True)))
    return ",".join(header) + "\n" + (lines + "\n" if len(df) else "")


def csv_line(values: Sequence[object]) -> str | None:
    """The CSV line (without its line break) of a row of Python scalars as pandas writes a
    one-row table of them (bools, ints, floats, text); None for anything else."""
    fields: list[str] = []
    for value in values:
        if isinstance(value, bool):
            fields.append(str(value))
        elif isinstance(value, int):
            fields.append(str(int(value)))
        elif isinstance(value, float):  # (a numpy float's repr is not its text)
            fields.append("" if value != value else repr(float(value)))
        elif isinstance(value, str):
            fields.append(value)
        else:
            return None
    if len(fields) == 1:
        fields = _alone(fields)
    quoted = _quote(fields)
    return None if quoted is None else ",".join(quoted)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """``df.to_csv(path, index=False, lineterminator="\n")``, through `csv_text` where it can."""
    text = csv_text(df)
    if text is None:
        df.to_csv(path, index=False, lineterminator="\n")
    else:
        path.write_text(text, encoding="utf-8", newline="")


def _column(column: pd.Series) -> list[str] | None:
    """The fields of one column, or None for a kind not written here."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return _objects(column)
    if not isinstance(dtype, np.dtype):
        return None
    if dtype.kind == "O":
        return _objects(column)
    values = column.to_numpy()
    if dtype == np.float64:
        return _floats(values)
    if dtype.kind in "iu":
        return list(map(str, values.tolist()))
    if dtype.kind == "b":
        return list(map(BOOLS.__getitem__, values.tolist()))
    return None


def _floats(values: np.ndarray) -> list[str]:
    """Each value's repr, NaN empty; formatted once per distinct bit pattern (the tables repeat
    many values, and equal bits have the same repr, -0.0 and 0.0 told apart)."""
    bits, where = np.unique(values.view(np.int64), return_inverse=True)
    distinct = bits.view(np.float64)
    reprs = list(map(repr, distinct.tolist()))
    for i in np.flatnonzero(np.isnan(distinct)).tolist():
        reprs[i] = ""
    return np.array(reprs, dtype=object)[where].tolist()


def _objects(column: pd.Series) -> list[str] | None:
    """Text or dates, each maybe missing; None for anything else (a mixed column)."""
    values = column.to_numpy()
    items = values.tolist()
    missing = np.flatnonzero(pd.isna(values)).tolist()
    for i in missing:
        items[i] = None
    kinds = set(map(type, items)) - {type(None)}
    if kinds == {datetime.date}:
        text = {item: str(item) for item in set(items)}  # a date repeats on many lines
        fields = list(map(text.__getitem__, items))
    elif kinds <= {str}:
        fields = items
    else:
        return None
    for i in missing:
        fields[i] = ""
    return _quote(fields)


def _quote(fields: list[str]) -> list[str] | None:
    """The fields as the csv module writes them; None if one holds a carriage return."""
    text = "".join(fields)
    if UNSURE in text:
        return None
    if not any(mark in text for mark in QUOTED):
        return fields
    return ['"' + field.replace('"', '""') + '"' if any(mark in field for mark in QUOTED)
            else field for field in fields]


def _alone(fields: list[str]) -> list[str]:
    """The fields of a table's only column: an empty one is quoted."""
    return ['""' if field == "" else field for field in fields]
