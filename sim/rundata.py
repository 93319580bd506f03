"""The tables of a run or an experiment, read from a results directory or from memory.

:class:`RunData` holds a results directory (or an in-memory `Results`) with every table
normalised to carry ``arm``, ``sample`` and ``replicate`` columns (one member per sample ×
replicate). :func:`load_run` reads one from disk and says plainly when a path is not a hashsim
results directory. What figures show of it is in :mod:`sim.plot_series`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import HashsimError

if TYPE_CHECKING:
    from sim.results import Results

TABLES = ("network", "regions", "pools", "facilities", "flows", "events", "summary")
MEMBER = ["sample", "replicate"]
_HASHRATE_UNITS = ((1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"),
                   (1e6, "MH/s"), (1.0, "H/s"))


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

    name: str
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
        top = max((abs(v) for v in values if np.isfinite(v)), default=0.0)
        return next(((s, u) for s, u in _HASHRATE_UNITS if top >= s), (1.0, "H/s"))

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
    for col in _REQUIRED.get(name, ()) + _OPTIONAL_TEXT.get(name, ()):
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
    `NotResultsError` (exit code 3) when it is not a hashsim results directory.
    """
    folder = Path(path)
    if not folder.exists():
        raise MissingPathError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise NotResultsError(f"{folder}: not a directory (give a results directory)")
    meta, experiment = _read_meta(folder)
    if not any((folder / f"network.{ext}").is_file() for ext in ("csv", "parquet")):
        raise NotResultsError(f"{folder}: not a hashsim results directory (no network.csv; "
                              "make one with `hashsim run SCENARIO -o DIR`)")
    tables = {n: _read_table(folder, n) for n in TABLES}
    _check_columns(folder, tables)
    missing = tuple(n for n in TABLES if not any((folder / f"{n}.{ext}").is_file()
                                                 for ext in ("csv", "parquet")))
    scenario = _scenario_of(meta)
    samples = _read_table(folder, "samples") if (folder / "samples.csv").is_file() else None
    experiment = experiment or "arm" in tables["network"].columns
    name = str(scenario.get("name") or meta.get("name") or folder.resolve().name)
    return RunData(name, scenario, tables, meta, experiment, read_sensitivity(folder),
                   samples, folder, missing)


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


def _read_table(folder: Path, name: str) -> pd.DataFrame:
    """``name.csv`` (or ``name.parquet``, as sweeps may write) — empty when there is none."""
    path = folder / f"{name}.csv"
    try:
        if path.is_file():
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        path = folder / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except ImportError:
        raise MissingExtraError(f"{path}: reading Parquet needs pyarrow") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise NotResultsError(f"{path}: unreadable table ({err})") from None


_REQUIRED = {"network": ("date", "coin", "hashrate_hs"),
             "regions": ("date", "coin", "region", "share"),
             "pools": ("date", "pool", "coin", "share"),
             "facilities": ("date", "facility", "capacity_mw", "used_mw"),
             "flows": ("date", "origin", "destination", "rigs_departed"),
             "events": ("date", "kind", "description"),
             "summary": ("coin", "metric", "value")}


#: Text columns a table may lack (an older or hand-made file): read as empty.
_OPTIONAL_TEXT = {"events": ("actor", "region")}


def _check_columns(folder: Path, tables: dict[str, pd.DataFrame]) -> None:
    for name, cols in _REQUIRED.items():
        df = tables[name]
        missing = [c for c in cols if c not in df.columns]
        if (len(df.columns) or name == "network") and missing:
            raise NotResultsError(f"{folder / (name + '.csv')}: not a hashsim table "
                                  f"(missing column{'s' * (len(missing) > 1)} "
                                  f"{', '.join(missing)})")


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
