"""The tables of a run or an experiment, read from a results directory or from memory.

:class:`RunData` holds a results directory (or an in-memory `Results`) with every table
normalised to carry ``arm``, ``sample`` and ``replicate`` columns (one member per sample ×
replicate). :func:`load_run` reads one from disk and says plainly when a path is not a hashsim
results directory. What figures show of it is in :mod:`sim.plot_series`.

Every result table, of a run or a sweep, is read by :func:`read_table` and checked against the
schema of its kind (:data:`SCHEMAS`, as results/README.md documents the tables): a cell that is
not a number, a date that is not one, a row cut short or repeated is a `TableError` (exit code
3) that names the file, the line and the column.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import HashsimError
from sim.state import CHOICES

if TYPE_CHECKING:
    from sim.results import Results

TABLES = ("network", "regions", "pools", "facilities", "flows", "decisions", "events",
          "summary")
MEMBER = ["sample", "replicate"]
#: Display units of a hashrate by size (the run's figures use EH/s and TH/s by coin rule).
_HASHRATE_UNITS = ((1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"),
                   (1e6, "MH/s"), (1.0, "H/s"))
#: Display units of sums of dollars by size.
_USD_UNITS = ((1e9, "bn USD"), (1e6, "M USD"), (1e3, "k USD"), (1.0, "USD"))


def hashrate_scale(top: float) -> tuple[float, str]:
    """The unit a hashrate of size `top` (H/s) reads in: (1e18, 'EH/s') … (1.0, 'H/s')."""
    return next(((s, u) for s, u in _HASHRATE_UNITS if abs(top) >= s), (1.0, "H/s"))


def usd_scale(top: float) -> tuple[float, str]:
    """The unit a sum of `top` dollars reads in: (1e9, 'bn USD') … (1.0, 'USD')."""
    return next(((s, u) for s, u in _USD_UNITS if abs(top) >= s), (1.0, "USD"))


class NotResultsError(HashsimError):
    """A path that is not a hashsim results or experiment directory."""

    exit_code = 3


class MissingPathError(HashsimError):
    """A path that does not exist (a usage error)."""

    exit_code = 2


class MissingExtraError(HashsimError):
    """An optional library (matplotlib, plotly) is not installed (a usage error, exit code 2:
    1 means a check failed)."""

    exit_code = 2


@dataclass
class RunData:
    """The tables of a run or experiment, each with ``arm``/``sample``/``replicate`` columns.

    ``scenario`` is the resolved scenario as a plain dict (``{}`` when unknown); ``meta`` is
    run.json or manifest.json. ``arms`` keeps the order in which arms first appear.
    ``missing`` names the tables the results folder lacks: each is an empty table with its
    required columns, so the figures that need it are left out (see :func:`missing_note`).
    """

    name: str  # the scenario's, or an experiment's own
    scenario: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)
    experiment: bool = False
    sensitivity: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    source: Path | None = None
    missing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in TABLES:
            self.tables[name] = _normalise(self.tables.get(name, pd.DataFrame()), name)
        net = self.tables["network"]
        self.arms: list[str] = list(dict.fromkeys(net["arm"].tolist())) or [""]
        runs = net[["arm", *MEMBER]].drop_duplicates()
        self._members = runs.groupby("arm").size().to_dict()

    def __repr__(self) -> str:
        # the dataclass's own would print every table and the whole scenario (megabytes)
        net = self.tables["network"]
        span = (f", {self.span[0].date()} … {self.span[1].date()}"
                if len(net) and net["date"].notna().any() else "")
        runs = sum(self._members.values())
        arms = f", arms {', '.join(self.arms)}" if self.experiment else ""
        where = f", from {str(self.source)!r}" if self.source else ""
        sizes = ", ".join(f"{n} {len(df):,}" for n, df in self.tables.items())
        return (f"<sim.plots.RunData {self.name!r}{span}, {runs} run{'s' * (runs != 1)}{arms}"
                f"{where}; rows: {sizes}>")

    @classmethod
    def from_results(cls, results: Results) -> RunData:
        """An in-memory `sim.results.Results` (no files needed)."""
        tables = {n: results.tables[n].copy() for n in TABLES if n in results.tables}
        return cls(results.scenario.name, results.scenario.model_dump(mode="json"), tables,
                   results.run_json())

    # ------------------------------------------------------------ lookups
    @property
    def coins(self) -> list[str]:
        return list(dict.fromkeys(self.tables["network"]["coin"].astype(str).tolist()))

    def coin_rule(self, coin: str) -> str | None:
        for c in self.scenario.get("coins", []):
            if c.get("name") == coin:
                return str(c.get("rule"))
        return None

    def hashrate_unit(self, coin: str, values: Iterable[float] = ()) -> tuple[float, str]:
        """Display scale: EH/s for a Bitcoin-rule coin, TH/s for a tracking one, else by size."""
        rule = self.coin_rule(coin)
        if rule == "bitcoin":
            return 1e18, "EH/s"
        if rule == "tracking":
            return 1e12, "TH/s"
        return hashrate_scale(max((abs(v) for v in values if np.isfinite(v)), default=0.0))

    def label(self, region: str) -> str:
        """A region's display label (its name when it has none)."""
        for r in self.scenario.get("regions", []):
            if r.get("name") == region:
                return str(r.get("label") or region)
        return region

    def leaf_regions(self) -> pd.DataFrame:
        """regions.csv without parent (aggregate) rows."""
        reg = self.tables["regions"]
        return reg[~reg["aggregate"]] if len(reg) else reg

    def arm_label(self, arm: str) -> str:
        return arm or "simulated"

    def members(self, arm: str) -> int:
        """Runs (sample × replicate) of `arm`."""
        return int(self._members.get(arm, 0))

    def first_member(self, arm: str | None = None) -> pd.DataFrame:
        """Events of one member: the first sample and replicate of `arm` (default the first)."""
        ev = self.tables["events"]
        ev = ev[ev["arm"] == (self.arms[0] if arm is None else arm)]
        if not len(ev):
            return ev
        first = ev[MEMBER].drop_duplicates().sort_values(MEMBER).iloc[0]
        return ev[(ev["sample"] == first["sample"]) & (ev["replicate"] == first["replicate"])]

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        dates = self.tables["network"]["date"]
        return pd.Timestamp(dates.min()), pd.Timestamp(dates.max())


def _normalise(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Give a table arm/sample/replicate columns, its required columns and real dates."""
    df = df.copy()
    required = SCHEMAS[name].required if name in SCHEMAS else ()
    for col in required + _OPTIONAL_TEXT.get(name, ()):
        if col not in df.columns and (not len(df) or col in _OPTIONAL_TEXT.get(name, ())):
            df[col] = pd.Series(dtype=object if col != "date" else "datetime64[ns]")
    if "arm" not in df.columns:
        df["arm"] = ""
    df["arm"] = df["arm"].fillna("").astype(str)
    for col in MEMBER:
        if col not in df.columns:
            df[col] = 0
        df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype(np.int64)
    if "date" in df.columns and name != "summary":
        df["date"] = pd.to_datetime(df["date"], format="ISO8601", errors="coerce")
    for col in ("coin", "region", "pool", "facility", "origin", "destination", "kind",
                "actor", "description"):
        if col in df.columns:
            df[col] = df[col].fillna("").astype(str)
    if name == "regions" and "aggregate" in df.columns:
        df["aggregate"] = df["aggregate"].astype(str).str.lower().isin(("true", "1"))
    elif name == "regions" and len(df):
        df["aggregate"] = False
    return df


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read a results directory (run.json) or an experiment directory (manifest.json).

    Raises `MissingPathError` (exit code 2) when the path does not exist and
    `NotResultsError` (exit code 3) when it is not a hashsim results directory or one of its
    tables is not what its kind holds (`TableError`).
    """
    folder = Path(path)
    meta, experiment = check_results_folder(folder)
    if table_path(folder, "network") is None:
        raise NotResultsError(f"{folder}: not a hashsim results directory (no network.csv; "
                              "make one with `hashsim run SCENARIO -o DIR`)")
    tables = {n: _read_table(folder, n) for n in TABLES}
    if not len(tables["network"].columns):  # an empty file: the others may be (no flows)
        raise NotResultsError(f"{folder / 'network.csv'}: not a hashsim table (missing "
                              f"columns {', '.join(SCHEMAS['network'].required)})")
    missing = tuple(n for n in TABLES if table_path(folder, n) is None)
    scenario = _scenario_of(meta)
    samples = _read_table(folder, "samples") if (folder / "samples.csv").is_file() else None
    experiment = experiment or "arm" in tables["network"].columns
    # an experiment by its own name (its manifest's), not its first arm's scenario's
    first = (meta.get("name"), scenario.get("name")) if experiment else (scenario.get("name"),)
    name = str(next((n for n in first if n), None) or folder.resolve().name)
    return RunData(name, scenario, tables, meta, experiment, read_sensitivity(folder),
                   samples, folder, missing)


def check_results_folder(folder: Path) -> tuple[dict[str, Any], bool]:
    """run.json or manifest.json of a results folder, and whether it is an experiment's.

    What every command that reads a results folder first checks: `MissingPathError` (exit
    code 2) when it does not exist, `NotResultsError` (exit code 3) when it is not a folder,
    has neither file, or its file is not valid JSON.
    """
    if not folder.exists():
        raise MissingPathError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise NotResultsError(f"{folder}: not a directory (give a results directory)")
    return _read_meta(folder)


def missing_note(data: RunData) -> str:
    """A line saying which tables the results folder lacks ('' when none): its figures are
    left out."""
    if not data.missing:
        return ""
    files = ", ".join(f"{n}.csv" for n in data.missing)
    where = f"{data.source}" if data.source else "these results"
    return (f"{where} has no {files}: the figures and tables that need "
            f"{'it' if len(data.missing) == 1 else 'them'} are left out (run the scenario "
            "again to get every file)")


def read_sensitivity(folder: Path) -> pd.DataFrame | None:
    """Every sensitivity table in ``folder``, one after the other; None when there is none.

    ``hashsim sensitivity RESULTS --metric M`` writes ``sensitivity_M.csv`` (one per metric
    analysed); ``sensitivity.csv`` may hold indices of any metrics. Each metric is shown once:
    from its ``sensitivity_<metric>.csv`` where there is one (the file the command wrote for
    it), else from ``sensitivity.csv``. Files are read in name order, so the result does not
    depend on when they were written.
    """
    parts: list[pd.DataFrame] = []
    named = sorted(folder.glob("sensitivity_*.csv"))
    for path in named:
        df = _read_table(folder, path.stem)
        if not len(df):
            continue
        if "metric" not in df.columns:
            df.insert(0, "metric", path.stem.removeprefix("sensitivity_"))
        parts.append(df)
    if (folder / "sensitivity.csv").is_file():
        df = _read_table(folder, "sensitivity")
        if len(df) and "metric" in df.columns:
            covered = {str(m) for part in parts for m in part["metric"]}
            df = df[~df["metric"].astype(str).isin(covered)]
        if len(df):
            parts.insert(0, df)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


#: Text columns a table may lack (an older or hand-made file): read as empty.
_OPTIONAL_TEXT = {"events": ("actor", "region")}


def _read_meta(folder: Path) -> tuple[dict[str, Any], bool]:
    for fname, experiment in (("run.json", False), ("manifest.json", True)):
        path = folder / fname
        if path.is_file():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                raise NotResultsError(f"{path}: unreadable ({err})") from None
            if not isinstance(doc, dict):
                raise NotResultsError(f"{path}: not a hashsim {fname}")
            return doc, experiment
    raise NotResultsError(f"{folder}: not a hashsim results directory (no run.json or "
                          "manifest.json; make one with `hashsim run SCENARIO -o DIR`)")


def kind_of_table(name: str) -> str | None:
    """The schema of a table by its name (sensitivity_drop is a sensitivity table); None for a
    name hashsim does not write (then :func:`read_table` takes the kind its columns are like)."""
    kind = "sensitivity" if name.startswith("sensitivity") else name
    return kind if kind in SCHEMAS else None


def _read_table(folder: Path, name: str) -> pd.DataFrame:
    """Table ``name`` of ``folder`` (see :func:`read_table`) — empty when there is none."""
    path = table_path(folder, name)
    if path is None:
        return pd.DataFrame()
    try:
        return read_table(path, kind=kind_of_table(name))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _scenario_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The resolved scenario: run.json's, else an experiment's first arm loaded from its file."""
    for key in ("scenario", "base_scenario", "base"):
        value = meta.get(key)
        if isinstance(value, dict):
            return value
    arms = meta.get("arms")
    if isinstance(arms, dict) and arms:
        first = next(iter(arms.values()))
        if isinstance(first, dict) and isinstance(first.get("scenario"), str):
            import sim

            try:
                loaded = sim.load(first["scenario"], list(first.get("overrides") or []))
            except (HashsimError, OSError, ValueError):
                return {}
            return dict(loaded.model_dump(mode="json"))
    return {}


# ---------------------------------------------------------------------------- tables on disk


class TableError(NotResultsError):
    """A result table with a column, row or cell its kind cannot hold (exit code 3): the
    message names the file, the line (the row of a Parquet file) and the column."""


@dataclass(frozen=True)
class TableSchema:
    """One kind of result table, as results/README.md documents it.

    ``columns`` are its own columns (a sweep's tables have the run's ``sample``, ``arm``,
    ``replicate`` and ``param_<name>`` columns on top: :data:`RUN_COLUMNS`); a file must have
    the ``required`` ones. With the run's columns, ``keys`` name one row. ``numbers`` are its
    figures. Keys, dates and figures must have a value except the ``blank`` ones, and so must
    the ``filled`` text columns; ``flags`` hold True or False. Of the figures, ``counts`` are
    whole numbers of rigs, blocks or runs, not negative; ``amounts`` (hashrates, prices,
    difficulties, megawatts, dollars) are finite and not negative; ``shares`` lie in 0–1.
    ``values`` name the only texts a column may hold (decisions' ``choice``: the engine's
    choices; another, 'teleport' or 'Relocate', would be left out of every figure without a
    word).
    """

    columns: tuple[str, ...]
    required: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    blank: tuple[str, ...] = ()
    filled: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


#: The columns that tell the runs of a sweep apart: whole numbers but ``arm``.
RUN_COLUMNS = ("sample", "arm", "replicate")
_NETWORK = ("hashrate_hs", "difficulty", "blocks", "mean_block_time_s", "price_usd",
            "hashprice_usd_per_phs_day", "revenue_usd")
_REGIONS = ("hashrate_hs", "share", "rigs_online", "rigs_offline", "rigs_banned_off",
            "rigs_in_transit", "rigs_queued", "rigs_underground", "rigs_retired", "power_mw",
            "energy_mwh", "co2_t", "revenue_usd", "cost_usd")
_STATS = ("mean", "std", "ci_low", "ci_high", "median", "p05", "p95")
_INDICES = ("S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "mu", "mu_star",
            "mu_star_low", "mu_star_high", "sigma")

#: Every result table by kind (its file's name): declared once, checked wherever a table is
#: read (:func:`read_table`), documented in results/README.md.
SCHEMAS = {
    "network": TableSchema(("date", "coin", *_NETWORK), ("date", "coin", "hashrate_hs"),
                           ("date", "coin"), _NETWORK, blank=("mean_block_time_s",),
                           counts=("blocks",),
                           amounts=tuple(c for c in _NETWORK if c != "blocks")),
    "regions": TableSchema(("date", "coin", "region", "aggregate", *_REGIONS),
                           ("date", "coin", "region", "share"), ("date", "coin", "region"),
                           _REGIONS, flags=("aggregate",),
                           counts=tuple(c for c in _REGIONS if c.startswith("rigs_")),
                           amounts=("hashrate_hs", "power_mw", "energy_mwh", "co2_t",
                                    "revenue_usd", "cost_usd"), shares=("share",)),
    "pools": TableSchema(("date", "pool", "coin", "hashrate_hs", "share", "rigs", "revenue_usd"),
                         ("date", "pool", "coin", "share"), ("date", "coin", "pool"),
                         ("hashrate_hs", "share", "rigs", "revenue_usd"), counts=("rigs",),
                         amounts=("hashrate_hs", "revenue_usd"), shares=("share",)),
    "facilities": TableSchema(("date", "facility", "region", "capacity_mw", "used_mw", "rigs",
                               "revenue_usd", "cost_usd"),
                              ("date", "facility", "capacity_mw", "used_mw"),
                              ("date", "facility"),
                              ("capacity_mw", "used_mw", "rigs", "revenue_usd", "cost_usd"),
                              counts=("rigs",),
                              amounts=("capacity_mw", "used_mw", "revenue_usd", "cost_usd")),
    "flows": TableSchema(("date", "coin", "origin", "destination", "rigs_departed",
                          "rigs_arrived", "hashrate_hs"),
                         ("date", "origin", "destination", "rigs_departed"),
                         ("date", "coin", "origin", "destination"),
                         ("rigs_departed", "rigs_arrived", "hashrate_hs"),
                         counts=("rigs_departed", "rigs_arrived"), amounts=("hashrate_hs",)),
    "decisions": TableSchema(("date", "coin", "region", "choice", "rigs"),
                             ("date", "region", "choice", "rigs"),
                             ("date", "coin", "region", "choice"), ("rigs",),
                             filled=("choice",), counts=("rigs",),
                             values={"choice": CHOICES}),
    # several events may share a day and a kind: no keys
    "events": TableSchema(("date", "time_days", "kind", "actor", "region", "description"),
                          ("date", "kind", "description"), numbers=("time_days",),
                          filled=("kind",)),
    "summary": TableSchema(("coin", "metric", "value", "unit", "date"),
                           ("coin", "metric", "value"), ("coin", "metric"), ("value",),
                           blank=("value", "date"), filled=("unit",)),
    "samples": TableSchema(("sample",), ("sample",), ("sample",)),
    "ensemble_series": TableSchema(("coin", "series", "date", "n", "p05", "median", "p95",
                                    "mean"), ("series", "date", "median"),
                                   ("coin", "series", "date"),
                                   ("n", "p05", "median", "p95", "mean"),
                                   blank=("p05", "median", "p95", "mean"), counts=("n",)),
    "ensemble_metrics": TableSchema(("coin", "metric", "unit", "n", "n_missing", "n_failed",
                                     *_STATS), ("metric", "mean"), ("coin", "metric"),
                                    ("n", "n_missing", "n_failed", *_STATS), blank=_STATS,
                                    counts=("n", "n_missing", "n_failed")),
    "ensemble_differences": TableSchema(
        ("reference", "coin", "metric", "unit", "n", "mean_diff", "std_diff", "ci_low",
         "ci_high"), ("reference", "metric", "mean_diff"), ("reference", "coin", "metric"),
        ("n", "mean_diff", "std_diff", "ci_low", "ci_high"),
        blank=("mean_diff", "std_diff", "ci_low", "ci_high"), counts=("n",)),
    # hashsim sensitivity's, or written by hand or by SALib: only its figures are checked
    "sensitivity": TableSchema(("coin", "metric", "unit", "parameter", *_INDICES, "n"),
                               numbers=(*_INDICES, "n"), blank=(*_INDICES, "n"), counts=("n",)),
}

#: Names and labels: read as text even where they look like numbers (an arm named 1).
_TEXT = ("date", "arm", "coin", "metric", "unit", "region", "pool", "facility", "origin",
         "destination", "kind", "actor", "description", "series", "parameter", "reference")


def table_path(directory: str | os.PathLike[str], name: str) -> Path | None:
    """``<directory>/<name>.csv`` or ``.parquet``, whichever exists (CSV first)."""
    for ext in ("csv", "parquet"):
        path = Path(directory) / f"{name}.{ext}"
        if path.is_file():
            return path
    return None


def table_kind(columns: Iterable[str]) -> str | None:
    """The kind of table (a key of :data:`SCHEMAS`) whose columns ``columns`` are most like:
    among the kinds whose required columns are all there, else among all when they share
    most of their columns (a table that lacks a column it must have is still named, for the
    message); None when none is alike."""
    own = {c for c in columns if c not in RUN_COLUMNS and not c.startswith("param_")}

    def likeness(kind: str) -> float:
        declared = set(SCHEMAS[kind].columns)
        return len(own & declared) / len(own | declared)

    complete = [k for k, s in SCHEMAS.items() if s.required and set(s.required) <= own]
    if complete:
        return max(complete, key=likeness)
    best = max(SCHEMAS, key=likeness)
    return best if likeness(best) >= 0.5 else None


def read_table(path: str | os.PathLike[str], columns: Sequence[str] | None = None,
               kind: str | None = None) -> pd.DataFrame:
    """A result table (CSV or Parquet) checked against the schema of its ``kind``.

    ``columns`` reads only those (as far as present); ``kind`` is a key of :data:`SCHEMAS`
    (None: the one its columns are like, :func:`table_kind`). Dates stay ISO text, names are
    text, a missing value is NaN. Raises `TableError` (exit code 3) naming the file, line
    and column of the first cell, row or column that its kind cannot hold (see
    :func:`check_table`); ``pandas.errors.EmptyDataError`` for an empty file.
    """
    p = Path(path)
    try:
        df, header = _read_parquet(p, columns, kind) if p.suffix == ".parquet" else \
            _read_csv(p, columns, kind)
    except pd.errors.EmptyDataError:
        raise
    except ImportError:
        raise MissingExtraError(f"{p}: reading Parquet needs pyarrow") from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found is None:
            raise TableError(f"{p}: unreadable table ({err})") from None
        header_fields, line, fields = found.groups()
        raise TableError(f"{p}, line {line}: {fields} fields, but the header has "
                         f"{header_fields} (a comma too many, or text with a comma that is "
                         "not quoted?)") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise TableError(f"{p}: unreadable table ({err})") from None
    df = check_table(df, p, kind if kind is not None else table_kind(header), header)
    if columns is None:
        return df
    asked = set(columns)
    return df[[c for c in df.columns if c in asked]]


def _wanted(header: list[str], columns: Sequence[str] | None, kind: str | None
            ) -> list[str] | None:
    """The columns of ``header`` to read for ``columns``: with the run's and the kind's keys,
    which tell a repeated row (an error) from the rows of other runs."""
    if columns is None:
        return None
    schema = SCHEMAS.get(kind if kind is not None else table_kind(header) or "")
    wanted = {*columns, *RUN_COLUMNS, *(schema.keys if schema else ())}
    return [c for c in header if c in wanted]


def _read_csv(path: Path, columns: Sequence[str] | None, kind: str | None
              ) -> tuple[pd.DataFrame, list[str]]:
    header = list(pd.read_csv(path, nrows=0).columns) if columns is not None else None
    df = pd.read_csv(path, usecols=_wanted(header, columns, kind) if header else None,
                     keep_default_na=False, na_values=[""], dtype=dict.fromkeys(_TEXT, str))
    return df, header if header is not None else list(df.columns)


def _read_parquet(path: Path, columns: Sequence[str] | None, kind: str | None
                  ) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq

    header = list(pq.read_schema(path).names)
    df = pq.read_table(path, columns=_wanted(header, columns, kind)).to_pandas()
    if "date" in df.columns:  # ISO text as from CSV, a missing date stays missing
        df["date"] = df["date"].astype(str).mask(df["date"].isna())
    return df, header


def check_table(df: pd.DataFrame, path: Path, kind: str | None,
                header: Sequence[str] | None = None) -> pd.DataFrame:
    """``df`` as read from ``path`` (whose columns are ``header``) checked against the schema
    of ``kind``, its figures made numbers; raises `TableError` at the first column it lacks,
    or the first cell that is not a number, not a date or True/False, or empty where it may
    not be, or row that repeats the keys of another.

    Checks run on whole columns and only look for the offending row when one fails: a column
    that pandas read as numbers holds numbers, so a large table costs little more.
    """
    schema = SCHEMAS.get(kind or "", TableSchema(()))
    names = list(header if header is not None else df.columns)
    if not names:
        return df  # an empty file: the caller says whether the table may be missing
    missing = [c for c in schema.required if c not in names]
    if missing:
        raise TableError(f"{path}: not a hashsim {kind} table (missing "
                         f"column{'s' * (len(missing) > 1)} {', '.join(missing)})")
    rows = _Rows(path, len(names))
    whole = [c for c in ("sample", "replicate") if c in df.columns]
    for col in [*whole, *(c for c in schema.numbers if c in df.columns)]:
        df[col] = _numbers(df[col], col, rows)
    _check_ranges(df, whole, schema, rows)
    if "date" in df.columns:
        _check_dates(df["date"], rows)
    for col in (c for c in schema.flags if c in df.columns):
        if not pd.api.types.is_bool_dtype(df[col]):
            bad = df[col].notna() & ~df[col].astype(str).str.lower().isin(
                ("true", "false", "1", "0"))
            if bad.any():
                raise rows.error(bad, f"column {col}: {df[col][bad].iloc[0]!r} is not True or "
                                 "False")
    filled = [c for c in dict.fromkeys((*whole, "date", *schema.keys, *schema.numbers,
                                        *schema.filled))
              if c in df.columns and c not in schema.blank]
    for col in filled:
        empty = df[col].isna()
        if empty.any():
            raise rows.error(empty, f"column {col} is empty")
    for col, allowed in schema.values.items():
        if col in df.columns:
            _check_values(df[col], col, allowed, rows)
    if schema.keys and all(c in df.columns for c in schema.keys):
        _check_unique(df, [c for c in (*RUN_COLUMNS, *schema.keys) if c in df.columns], rows)
    return df


#: How far past 0–1 a share may lie: a float sum's rounding, not a miscount.
SHARE_SLACK = 1e-9


def _check_ranges(df: pd.DataFrame, whole: list[str], schema: TableSchema, rows: _Rows
                  ) -> None:
    """Refuse a figure its column cannot hold: a count that is negative or not whole (-3 rigs,
    2.5 blocks), an amount that is negative or infinite, a share outside 0–1. Empty cells are
    left to the caller's check of blanks."""
    def refuse(col: str, bad: pd.Series, what: str) -> None:
        if bad.any():
            value = df[col][bad].iloc[0]  # -3, not np.int64(-3)
            value = value.item() if isinstance(value, np.generic) else value
            raise rows.error(bad, f"column {col}: {value!r} is not {what}")

    for col in whole:  # (the run columns the table has)
        refuse(col, df[col].notna() & (df[col] % 1 != 0), "a whole number")
    for col in (c for c in schema.counts if c in df.columns):
        values = df[col]
        # (inf % 1 is NaN, not 0: an infinite count is not whole)
        refuse(col, values.notna() & ((values < 0) | (values % 1 != 0)),
               "a count (a whole number, 0 or more)")
    for col in (c for c in schema.amounts if c in df.columns):
        values = df[col]
        refuse(col, values.notna() & ((values < 0) | ~np.isfinite(values)),
               "an amount (a finite number, 0 or more)")
    for col in (c for c in schema.shares if c in df.columns):
        values = df[col]
        refuse(col, values.notna() & ((values < -SHARE_SLACK) | (values > 1 + SHARE_SLACK)),
               "a share (0 to 1)")


def _check_values(values: pd.Series, name: str, allowed: tuple[str, ...], rows: _Rows
                  ) -> None:
    """Refuse a text that column `name` cannot hold (one not in `allowed`)."""
    bad = values.notna() & ~values.isin(allowed)
    if bad.any():
        raise rows.error(bad, f"column {name}: {values[bad].iloc[0]!r} is not a {name} "
                         f"({', '.join(allowed)})")


def _numbers(col: pd.Series, name: str, rows: _Rows) -> pd.Series:
    """``col`` as numbers; `TableError` at its first cell that is text (``nan`` is empty,
    ``inf`` a number, as Python reads them)."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col
    if pd.api.types.is_bool_dtype(col):
        bad = col.notna()
    else:
        numbers = pd.to_numeric(col, errors="coerce")
        bad = numbers.isna() & col.notna() & (col.astype(str).str.strip().str.lower() != "nan")
        if not bad.any():
            return numbers
    raise rows.error(bad, f"column {name}: {col[bad].iloc[0]!r} is not a number")


def _check_dates(dates: pd.Series, rows: _Rows) -> None:
    """Dates are ISO text (``2021-05-21``): parsed once per distinct value, as a table repeats
    each of its dates on many rows."""
    if pd.api.types.is_datetime64_any_dtype(dates):
        return
    distinct = pd.Series(dates.dropna().unique())
    parsed = pd.to_datetime(distinct.astype(str), format="ISO8601", errors="coerce")
    bad = set(distinct[parsed.isna()].tolist())
    if bad:
        where = dates.isin(bad)
        raise rows.error(where, f"column date: {dates[where].iloc[0]!r} is not a date "
                         "(YYYY-MM-DD)")


def _check_unique(df: pd.DataFrame, keys: list[str], rows: _Rows) -> None:
    """Refuse a row whose keys repeat an earlier row's (a table has one row per key).

    The key columns are turned into one integer per row first: hashing one int64 column is
    several times faster than comparing rows of text, which counts on a sweep's tables."""
    code = np.zeros(len(df), dtype=np.int64)
    size = 1
    for col in keys:
        codes, distinct = pd.factorize(df[col], use_na_sentinel=False)
        size *= max(len(distinct), 1)
        if size >= 2**62:  # too many combinations for one int64: compare the rows
            repeated = df.duplicated(keys).to_numpy()
            break
        code = code * max(len(distinct), 1) + codes
    else:
        repeated = pd.Series(code).duplicated().to_numpy()
    if not repeated.any():
        return
    second = int(np.argmax(repeated))
    same = np.ones(len(df), dtype=bool)
    for col in keys:
        same &= (df[col] == df[col].iloc[second]).to_numpy()
    first = int(np.argmax(same))
    lines = rows.where([first, second])
    values = ", ".join(f"{c} {df[c].iloc[second]}" for c in keys)
    raise TableError(f"{rows.path}, {lines[1]}: a second row for {values} (the first is on "
                     f"{lines[0]}); the table has one row per {', '.join(keys)}")


class _Rows:
    """Where rows of a table file are, for messages: CSV lines (found by reading the file
    again, only when there is an error to report), or Parquet rows."""

    def __init__(self, path: Path, num_columns: int) -> None:
        self.path = path
        self.num_columns = num_columns

    def error(self, bad: pd.Series, what: str) -> TableError:
        """The error for the first row where ``bad`` holds (and how many more there are)."""
        flags = bad.to_numpy(dtype=bool)
        first = int(np.argmax(flags))
        more = int(flags.sum()) - 1
        also = f" (and {more:,} more row{'s' * (more > 1)})" if more else ""
        return TableError(f"{self.path}, {self.where([first])[0]}: {what}{also}")

    def where(self, rows: list[int]) -> list[str]:
        """'line N' of each data row (0-based, as pandas counts them)."""
        if self.path.suffix == ".parquet":
            return [f"row {r + 1}" for r in rows]
        found: dict[int, str] = {}
        wanted = set(rows)
        with self.path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            record, start = -1, 1  # the header is record -1; pandas skips blank lines
            for fields in reader:
                if fields:
                    if record in wanted:
                        short = (f" (it has {len(fields)} fields, the header {self.num_columns}: "
                                 "cut short?)" if len(fields) < self.num_columns else "")
                        found[record] = f"line {start}{short}"
                        if len(found) == len(wanted):
                            break
                    record += 1
                start = reader.line_num + 1
        return [found.get(r, f"data row {r + 1}") for r in rows]
