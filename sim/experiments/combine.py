"""Combine a sweep's shards into one tidy table per kind, streaming, in a fixed order.

Each shard already carries the key columns (sample, arm, replicate, param_*), so combining a
CSV table is a byte copy of every shard's rows under one header: memory stays bounded however
many runs there are, and the result does not depend on the order the runs finished in. Parquet
shards are appended as row groups under a schema unified across shards.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.experiments.plan import Task

_COPY_BUFFER = 1 << 20


def combine(out: Path, tasks: Sequence[Task], fmt: str = "csv") -> dict[str, Path]:
    """Write ``out/<table>.<fmt>`` from the shards of ``tasks`` that exist, in the given order.

    Runs without a shard (failed ones) are left out, and so is a table a shard lacks: a run
    kept by --resume from an earlier version that did not write it (decisions.csv) adds no
    rows to it. Each file is written to a temporary name and renamed, so a reader never sees
    half a table.
    """
    from sim.results import TABLES

    present = [t for t in tasks if (out / t.shard).is_dir()]
    written = {}
    for name in TABLES:
        files = [out / t.shard / f"{name}.{fmt}" for t in present
                 if (out / t.shard / f"{name}.{fmt}").is_file()]
        target = out / f"{name}.{fmt}"
        tmp = out / f".{name}.{fmt}.tmp-{os.getpid()}"
        try:
            if fmt == "csv":
                _combine_csv(files, tmp, _header_line(present[0], name) if present else b"")
            else:
                _combine_parquet(files, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written[name] = target
    return written


def _combine_csv(files: list[Path], target: Path, header: bytes = b"") -> None:
    """The rows of `files` under one header; without files, `header` alone: a table no kept
    shard has (every run kept from a version that did not write it) is a table without rows
    (a file of 0 bytes is no table to pandas, nor to plot, report or compare), and a sweep
    without a run (`header` empty: every run failed) is a file of 0 bytes."""
    with target.open("wb") as dst:
        if not files:
            dst.write(header)
            return
        headers = [_header(f) for f in files]
        if any(h != headers[0] for h in headers):
            # tables of arms with different scenarios may differ in columns
            union = dict.fromkeys(c for h in headers for c in h.rstrip(b"\n").split(b","))
            _combine_csv_reindexed(files, [c.decode() for c in union], dst)
            return
        dst.write(headers[0])
        for f in files:
            with f.open("rb") as src:
                src.readline()
                shutil.copyfileobj(src, dst, _COPY_BUFFER)


def _header_line(task: Task, name: str) -> bytes:
    """The header of table `name` of `task`'s run: the run's key columns (sample, arm,
    replicate, param_*), then the table's own."""
    from sim.experiments.runner import _key_text
    from sim.rundata import SCHEMAS

    keys = _key_text(task).split("\n")[0]
    return f"{keys},{','.join(SCHEMAS[name].columns)}\n".encode()


def _combine_csv_reindexed(files: list[Path], columns: list[str], dst: Any) -> None:
    import pandas as pd

    dst.write((",".join(columns) + "\n").encode())
    for f in files:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df.reindex(columns=columns, fill_value="").to_csv(dst, index=False, header=False,
                                                          lineterminator="\n")


def _header(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.readline()


def _combine_parquet(files: list[Path], target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not files:
        pq.write_table(pa.table({}), target)
        return
    # An empty table (no migration in a no-ban arm) has float64 columns from pandas: it would
    # promote the rows' int64 counts to float64. Only shards with rows decide the types.
    filled = [f for f in files if pq.read_metadata(f).num_rows > 0] or files
    schemas = [pq.read_schema(f).remove_metadata() for f in filled]
    names = {n for s in schemas for n in s.names}
    schemas += [pa.schema([field for field in pq.read_schema(f).remove_metadata()
                           if field.name not in names]) for f in files if f not in filled]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(target, schema) as writer:
        for f in files:
            table = pq.read_table(f)
            columns = [table.column(n).cast(schema.field(n).type) if n in table.column_names
                       else pa.nulls(table.num_rows, schema.field(n).type)
                       for n in schema.names]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
