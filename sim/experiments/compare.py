"""Compare two results: inputs diff, summary-metric deltas with intervals, series NRMSE, plots.

A side is a results folder — of ``hashsim run`` (run.json) or of ``hashsim sweep``
(manifest.json) — or one CSV/Parquet table. Two folders are compared on their summary metrics
and their main series (the network table, or ``table``); two files must hold the same table.

- metrics: per (arm, coin, metric) — and sample with ``by_sample`` — the mean over runs of each
  side, ``delta = B − A``, ``delta_pct = 100·delta/|A|``, and, where both sides have two runs
  or more, Welch's t interval of the difference of the means; ``a_n``/``b_n`` count the runs
  with a value and ``a_runs``/``b_runs`` the runs of that side (a metric such as
  ``days_to_recover_90`` has no value in a run that never recovered: its mean is over the
  others, and the metric is *incomplete*);
- series: per key (coin, and region/pool/… for other tables) and series, the means over runs
  per date, joined on date; ``nrmse_pct = 100·RMS(B − A) / mean(|A|)``.

Two sides that cannot be compared raise :class:`NotComparableError` (exit code 3): different
tables, different units of a metric, no coin (or no date) in common. Asking for what is not
there raises :class:`~sim.experiments.errors.UsageError` (exit code 2): an arm of inputs without
arms, a ``--metric`` pattern that matches no metric or series; so do an existing output folder
without ``force`` and plots without matplotlib (nothing is written then).
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import HashsimError, ResultsExistError
from sim.experiments.ensemble import MAIN_SERIES, RUN_ARM
from sim.experiments.errors import InputError, UsageError
from sim.rundata import RUN_COLUMNS, kind_of_table, read_table, table_kind, table_path


class NotComparableError(InputError):
    """The two sides hold different things (tables, units, coins, dates)."""

    exit_code = 3


@dataclass
class Side:
    """One side of a comparison: its tables (as far as present) and its inputs, flattened."""

    path: Path
    kind: str  # "run", "sweep" or "table"
    summary: pd.DataFrame | None = field(default=None, repr=False)
    series: pd.DataFrame | None = field(default=None, repr=False)
    table: str = ""
    inputs: dict[str, Any] = field(default_factory=dict, repr=False)
    arms: tuple[str, ...] = ()  # the arms asked for (--arm)
    #: a run's inputs as :func:`sim.results.run_inputs` gives them: the scenario as run, seed
    #: and replicates (None for a sweep: :func:`compare` reads those of the arm asked for
    #: where the other side is a run)
    run_inputs: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def has_arms(self) -> bool:
        """Whether its tables tell arms apart (a sweep's do; a single run's do not)."""
        return any(df is not None and "arm" in df.columns for df in (self.summary, self.series))


@dataclass
class Comparison:
    """What :func:`compare` found."""

    a: Side
    b: Side
    input_diff: list[tuple[str, Any, Any]] = field(repr=False)
    metrics: pd.DataFrame = field(repr=False)  # (a short repr: a notebook shows the object)
    nrmse: pd.DataFrame = field(repr=False)
    notes: list[str] = field(repr=False)

    def exceeding(self, threshold_pct: float, patterns: Sequence[str] = ()) -> list[str]:
        """Descriptions of the deltas and NRMSEs above ``threshold_pct`` percent.

        A metric defined on one side only (NaN on the other) counts as above, as does a series
        without a date that has a value on both sides (a column one side lacks), and so does
        an incomplete metric whose share of runs with a value differs between the sides (6 of
        6 runs in A, 1 of 6 in B): its means are over different sets of runs. Patterns that
        match no metric or series raise :class:`UsageError` (see :meth:`check_patterns`).
        """
        self.check_patterns(patterns)
        out = []
        for row in records(self.metrics):
            if patterns and not any(fnmatch.fnmatchcase(str(row["metric"]), p) for p in patterns):
                continue
            pct, a_mean, b_mean = (float(row[k]) for k in ("delta_pct", "a_mean", "b_mean"))
            one_missing = math.isnan(a_mean) != math.isnan(b_mean)
            text = f"{_key(row)}: {row['metric']} {_num(a_mean)} → {_num(b_mean)} ({_pct(pct)})"
            if one_missing or (not math.isnan(pct) and abs(pct) > threshold_pct):
                out.append(text + coverage(row))
            elif _coverage_differs(row):
                out.append(f"{text}, incomplete{coverage(row)}")
        for row in records(self.nrmse):
            if patterns and not any(fnmatch.fnmatchcase(str(row["series"]), p) for p in patterns):
                continue
            nrmse = float(row["nrmse_pct"])
            if int(row["dates"]) == 0:  # values on one side only (or on other dates)
                out.append(f"{_key(row)}: {row['series']} has no date with a value on both "
                           "sides")
            elif not math.isnan(nrmse) and nrmse > threshold_pct:
                out.append(f"{_key(row)}: {row['series']} NRMSE {nrmse:.3g} %")
        return out

    def check_patterns(self, patterns: Sequence[str]) -> None:
        """Raise :class:`UsageError` (exit code 2) naming each pattern that matches no metric
        and no series, with close matches and the names there are: a typo must not turn a
        ``--fail-above`` check into one that always passes."""
        names = list(dict.fromkeys(
            [*(str(m) for m in self.metrics.get("metric", ())),
             *(str(s) for s in self.nrmse.get("series", ()))]))
        bad = [p for p in dict.fromkeys(patterns)
               if not any(fnmatch.fnmatchcase(n, p) for n in names)]
        if not bad:
            return
        lines = []
        for p in bad:
            lower = {n.lower(): n for n in names}
            close = [lower[c] for c in difflib.get_close_matches(p.lower(), list(lower), n=5,
                                                                 cutoff=0.6)]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            lines.append(f"--metric {p!r} matches no metric or series{hint}")
        shown = ", ".join(names[:60]) + (f", … {len(names) - 60} more" if len(names) > 60
                                         else "")
        raise UsageError("; ".join(lines) + f"; there are: {shown or 'none'}")


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``df`` as dicts (typed loosely, for printing)."""
    return [{str(k): v for k, v in row.items()} for row in df.to_dict("records")]


def coverage(row: dict[str, Any]) -> str:
    """The note for a metric that some runs lack: ``" (B: 1 of 6 runs)"`` where a side has a
    value in only some of its runs (``" (A: 0 of 6 runs)"`` in none, the other side having
    some); ``""`` otherwise."""
    parts = []
    for side in ("a", "b"):
        n, runs = int(row.get(f"{side}_n", 0)), int(row.get(f"{side}_runs", 0))
        other = int(row.get(f"{'b' if side == 'a' else 'a'}_n", 0))
        if n < runs and (n > 0 or other > 0):
            parts.append(f"{side.upper()}: {n} of {runs} runs")
    return f" ({', '.join(parts)})" if parts else ""


def _coverage_differs(row: dict[str, Any]) -> bool:
    """Whether the share of runs with a value differs between the sides."""
    a_n, b_n, a_runs, b_runs = (int(row.get(k, 0)) for k in ("a_n", "b_n", "a_runs", "b_runs"))
    if a_runs == 0 or b_runs == 0:
        return False  # a side without the coin or the metric at all: counted as one-sided
    return a_n * b_runs != b_n * a_runs


def _key(row: dict[str, Any]) -> str:
    skip = {"metric", "series", "unit", "dates", "rmse", "nrmse_pct", "a_n", "b_n", "a_runs",
            "b_runs"}
    parts = [f"{c}={v}" for c, v in row.items()
             if c not in skip and not isinstance(v, float) and v not in ("", None)]
    return " ".join(parts)


def _num(x: float) -> str:
    return "nan" if x != x else f"{x:.6g}"


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{x:+.3g} %"


# ---------------------------------------------------------------------------- loading


def load_side(path: str | os.PathLike[str], table: str = "network",
              arms: Sequence[str] = ()) -> Side:
    """Read a results folder or a table file for comparison.

    A folder of ``hashsim run`` (run.json) or ``hashsim sweep`` (manifest.json) gives its
    inputs, its summary table and its ``table`` (the series compared); a file gives the one
    table it holds, a summary or one of dated series (``table`` does not apply). ``arms``
    keeps only those arms where a side has an arm column (an arm it lacks raises
    :class:`UsageError`); a side without one (a single run) is kept whole — :func:`compare`
    refuses ``arms`` when neither side has arms, and sets one arm of a sweep's scenario
    beside a run's.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "manifest.json").is_file():
            side = Side(p, "sweep", inputs=_flatten(_sweep_inputs(p)))
        elif (p / "run.json").is_file():
            run = _json(p / "run.json")
            side = Side(p, "run", inputs=_flatten(run, skip=_VOLATILE),
                        run_inputs=_flatten({k: run[k] for k in _RUN_INPUTS if k in run}))
        else:
            raise InputError(f"{p}: not a results folder (no run.json or manifest.json)")
        summary_path, series_path = table_path(p, "summary"), table_path(p, table)
        if summary_path is None:
            from sim.experiments.ensemble import check_finished

            check_finished(p, "compare")
            raise InputError(f"{p}: no summary table")
        if series_path is None:
            raise NotComparableError(f"{p}: no {table} table")
        side.summary = _read(summary_path, kind="summary")
        side.series = _read(series_path, kind=kind_of_table(table))
        side.table = table
    elif p.is_file():
        df = _read(p)  # of the kind its columns are like, checked as such
        kind = table_kind(df.columns)
        if kind == "summary":
            side = Side(p, "table", summary=df, table=kind)
        elif "date" in df.columns:
            side = Side(p, "table", series=df, table=kind or "series")
        else:
            raise NotComparableError(f"{p}: neither a summary table (metric, value, unit) nor a "
                                     "table of dated series (date, …)")
    else:
        raise HashsimError(f"{p}: no such file or folder")
    if arms:  # (every run has rows in the summary; flows and decisions only some)
        side.arms = tuple(arms)
        side.summary = _only_arms(side.summary, arms, p)
        side.series = _only_arms(side.series, arms, p, check=side.summary is None)
    return side


def _read(path: Path, kind: str | None = None) -> pd.DataFrame:
    """`read_table`, with an empty file (not even a header line) an `InputError`."""
    try:
        return read_table(path, kind=kind)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: an empty file (not even a header line), not a hashsim "
                         "table") from None


_VOLATILE = ("versions", "git_commit", "command", "wall_time_s")
#: The tables with rows only on the days something happened (a row a run lacks is a zero),
#: and what their rigs did then.
SPARSE = {"flows": "moved", "decisions": "decided"}
#: What a run's inputs are, to set beside one arm of a sweep (as sim.results.run_inputs).
_RUN_INPUTS = ("scenario", "scenario_hash", "seed", "replicates")


def _arm_inputs(sweep: Side) -> dict[str, Any] | str:
    """The inputs of the one arm of `sweep` asked for, as those of a run
    (:func:`sim.results.run_inputs`): its scenario file as run (the folder's copy) with its
    overrides, under the sweep's seed. Where there are none to show, the note that says why:
    no arm or several asked for, a sweep with parameters (each design point has its own
    scenario), a manifest that does not say how the arm ran, or a copy that does not load."""
    from sim.errors import ScenarioError
    from sim.results import run_inputs
    from sim.validation import load

    arms = tuple(dict.fromkeys(sweep.arms))
    m = _json(sweep.path / "manifest.json")
    if len(arms) != 1 or m.get("parameters"):
        return (f"inputs: {sweep.path} is a sweep and the other a run; with one arm (--arm "
                "NAME) of a sweep without parameters, compare shows how that arm's scenario "
                "differs from the run's")
    arm, instead = arms[0], "its inputs are the experiment's, beside the run's"
    entries = m.get("arms")
    entry = entries.get(arm) if isinstance(entries, dict) else None
    overrides = (entry.get("overrides") or []) if isinstance(entry, dict) else None
    if not isinstance(entry, dict) or not isinstance(overrides, list):
        return (f"inputs: {sweep.path}'s manifest.json does not say how arm {arm} ran (its "
                f"entry under arms: scenario_copy and overrides): {instead}")
    copy = sweep.path / str(entry.get("scenario_copy") or "")
    if not copy.is_file():
        return (f"inputs: {sweep.path} has no readable copy of arm {arm}'s scenario "
                f"(manifest.json's scenario_copy, under scenarios/): {instead}")
    try:
        scenario = load(copy, [str(o) for o in overrides])
    except ScenarioError as exc:
        more = len(exc.issues) - 1
        return (f"inputs: {sweep.path}'s copy of arm {arm}'s scenario does not load "
                f"({exc.issues[0]}{f' and {more} more' if more > 0 else ''}): {instead}")
    return _flatten(run_inputs(scenario, m.get("seed"), m.get("replicates")))


def _describe(side: Side) -> str:
    kind = side.table
    return "a summary table" if kind == "summary" else \
        "a series table" if kind == "series" else f"a {kind} series table"


def _columns_differ(a: pd.DataFrame | None, b: pd.DataFrame | None) -> str:
    """'; A's own columns: …; B's own: …' (the run's columns aside), '' when the same."""
    if a is None or b is None:
        return ""
    own_a, own_b = ([c for c in df.columns if c not in RUN_COLUMNS and not c.startswith("param_")]
                    for df in (a, b))
    only_a = [c for c in own_a if c not in own_b]
    only_b = [c for c in own_b if c not in own_a]
    return "".join(f"; only {side} has {', '.join(cols[:8])}{' …' if len(cols) > 8 else ''}"
                   for side, cols in (("A", only_a), ("B", only_b)) if cols)


def _only_arms(df: pd.DataFrame | None, arms: Sequence[str], path: Path, check: bool = True
               ) -> pd.DataFrame | None:
    if df is None or "arm" not in df.columns:
        return df
    missing = [a for a in arms if a not in set(df["arm"])]
    if missing and check:
        raise UsageError(f"{path}: no arm {', '.join(missing)}; arms are: "
                           f"{', '.join(dict.fromkeys(df['arm']))}")
    return df[df["arm"].isin(arms)]


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc})") from None
    return data if isinstance(data, dict) else {}


def _sweep_inputs(path: Path) -> dict[str, Any]:
    m = _json(path / "manifest.json")
    keep = ("experiment", "extra_overrides", "seed", "crn", "arms", "design")
    return {k: m[k] for k in keep if k in m}


def _flatten(data: Any, prefix: str = "", skip: Sequence[str] = ()) -> dict[str, Any]:
    """Nested dicts and lists → {"dotted.path": scalar}; lists of named items by name."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            if not prefix and k in skip:
                continue
            out.update(_flatten(v, f"{prefix}{k}.", skip))
    elif isinstance(data, list) and data:
        # an item keyed by its index would shift when an item before it is removed, and show
        # the same item as removed and added; one keyed by a name that another item shares
        # would hide it: key each by the first of its labels that is unique in the list
        labels = [_item_labels(v) for v in data]
        for i, v in enumerate(data):
            key = next((label for n, label in enumerate(labels[i]) if label is not None
                        and sum(other[n] == label for other in labels) == 1), i)
            out.update(_flatten(v, f"{prefix}{key}.", skip))
    else:
        out[prefix.rstrip(".")] = data
    return out


_LABEL_FIELDS = ("kind", "policy", "region", "pool", "date")


def _item_labels(item: Any) -> tuple[str | None, str | None, str | None]:
    """A list item's possible keys in the inputs diff: its name, its id, its identifying
    fields (`lift iran-summer-ban 2021-09-22`); None where it has none."""
    if not isinstance(item, dict):
        return None, None, None
    parts = [str(item[f]) for f in _LABEL_FIELDS
             if isinstance(item.get(f), str | int | float) and not isinstance(item.get(f), bool)]
    return (str(item["name"]) if item.get("name") else None,
            str(item["id"]) if item.get("id") else None, " ".join(parts) or None)


def _absent(inputs: dict[str, Any], key: str) -> str:
    """How an input that one side lacks is shown: `{…}` where that side has values under it
    (a section the other side has as a single value, e.g. None or []), else `—`."""
    return "{…}" if any(k.startswith(f"{key}.") for k in inputs) else "—"


# ---------------------------------------------------------------------------- comparing


def compare(a: Side, b: Side, by_sample: bool = False, confidence: float = 0.95,
            patterns: Sequence[str] = ()) -> Comparison:
    """Compare two sides; raises :class:`NotComparableError` when they are not comparable,
    :class:`UsageError` when arms were asked for and neither side has arms, or when one of
    ``patterns`` (``--metric``) matches no metric or series."""
    from sim.results import ArgumentTypeError, confidence_level

    if not (isinstance(a, Side) and isinstance(b, Side)):
        raise ArgumentTypeError("a and b must be sides of a comparison: load_side(path), not "
                                f"{type(a).__name__} and {type(b).__name__}")
    confidence = confidence_level(confidence)
    if isinstance(patterns, str):  # one pattern, not its letters
        patterns = (patterns,)
    asked = tuple(dict.fromkeys((*a.arms, *b.arms)))
    if asked and not (a.has_arms or b.has_arms):
        raise UsageError(f"--arm {', '.join(asked)}: the inputs have no arms ({a.path} and "
                         f"{b.path} are single runs or tables without an arm column); --arm "
                         "picks arms of sweeps")
    if (a.kind == "table") != (b.kind == "table"):
        raise NotComparableError("compare two results folders, or two table files — not a "
                                 "folder with a file")
    if a.kind == "table" and a.table != b.table:
        differ = _columns_differ(a.summary if a.summary is not None else a.series,
                                 b.summary if b.summary is not None else b.series)
        raise NotComparableError(f"{a.path} is {_describe(a)} but {b.path} is {_describe(b)}"
                                 f"{differ}: compare two tables of the same kind")
    notes: list[str] = []
    a_inputs, b_inputs = a.inputs, b.inputs
    if {a.kind, b.kind} == {"run", "sweep"}:
        # a run beside one arm of a sweep: the scenarios as run, not the two folders' layouts
        # (an experiment's arms and design against a run's file: hundreds of lines that said
        # nothing of whether the two ran the same model)
        sweep, run = (a, b) if a.kind == "sweep" else (b, a)
        arm_inputs = _arm_inputs(sweep)
        if isinstance(arm_inputs, str):  # why there are none
            notes.append(arm_inputs)
        else:
            run_inputs = run.run_inputs or {}  # (a run's are read with it)
            a_inputs, b_inputs = (arm_inputs, run_inputs) if a is sweep else \
                (run_inputs, arm_inputs)
            notes.append(f"inputs: the scenario of {sweep.path}'s arm {sweep.arms[0]} as it "
                         "ran, beside the run's. A sweep's runs and a plain run draw different "
                         "random numbers even under the same seed: compare them by their "
                         "intervals, not run by run")
    diff = [(k, a_inputs.get(k, _absent(a_inputs, k)), b_inputs.get(k, _absent(b_inputs, k)))
            for k in sorted(set(a_inputs) | set(b_inputs))
            if k not in a_inputs or k not in b_inputs or a_inputs[k] != b_inputs[k]]
    if by_sample:
        _check_same_design(a, b)
    metrics = pd.DataFrame()
    if a.summary is not None and b.summary is not None:
        metrics = compare_metrics(a.summary, b.summary, by_sample, confidence, notes)
    nrmse = pd.DataFrame()
    if a.series is not None and b.series is not None:
        sparse = None
        table = next((t for t in (a.table, b.table) if t in SPARSE), None)
        if table is not None:  # rows only where rigs moved (or decided): a missing row is 0
            if a.summary is not None and b.summary is not None:
                sparse = (a.summary, b.summary)  # (every run has rows there)
            else:
                notes.append(f"{table}.csv has a row only where rigs {SPARSE[table]} on a day; "
                             "without the runs' summary tables, the NRMSE is over the dates "
                             f"and keys where both sides' rigs {SPARSE[table]}, averaged over "
                             "the runs where they did")
        nrmse = compare_series(a.series, b.series, by_sample, notes, sparse)
    result = Comparison(a, b, diff, metrics, nrmse, notes)
    result.check_patterns(patterns)
    return result


def _check_same_design(a: Side, b: Side) -> None:
    """Refuse to pair design points by number when A's and B's are other points: sample 3 of
    an `lhs` of another seed (or of other ranges) is another setting of the parameters, and
    its delta would be put down to what differs between the sweeps."""
    points = []
    for side in (a, b):
        df = side.summary if side.summary is not None else side.series
        if df is None or "sample" not in df.columns:
            return  # (_arm_keys says that --by-sample needs two sweeps)
        params = sorted(c for c in df.columns if c.startswith("param_"))
        keys = [c for c in ("arm", "sample") if c in df.columns]
        points.append((params, df[[*keys, *params]].drop_duplicates(keys)))
    (params_a, points_a), (params_b, points_b) = points
    if params_a != params_b:
        names = [", ".join(p.removeprefix("param_") for p in ps) or "none"
                 for ps in (params_a, params_b)]
        raise NotComparableError(
            f"--by-sample pairs design points, but A's parameters are ({names[0]}) and B's "
            f"({names[1]}): compare the sweeps without --by-sample")
    keys = [c for c in ("arm", "sample") if c in points_a.columns and c in points_b.columns]
    joined = points_a.merge(points_b, on=keys, suffixes=("_a", "_b"))
    differ = []
    arms = "arm" in joined.columns and joined["arm"].nunique() > 1
    for row in records(joined):
        changed = [p for p in params_a if not _same_value(row[f"{p}_a"], row[f"{p}_b"])]
        if changed:
            where = f"sample {row['sample']}" + (f" of arm {row['arm']}" if arms else "")
            differ.append(f"{where} has " + ", ".join(
                f"{p.removeprefix('param_')} = {_value(row[f'{p}_a'])} in A, "
                f"{_value(row[f'{p}_b'])} in B" for p in changed[:3]))
    if differ:
        more = f" (and {len(differ) - 1} more design points)" if len(differ) > 1 else ""
        raise NotComparableError(
            f"--by-sample pairs design points by their number, but A's and B's are other "
            f"points: {differ[0]}{more}. Compare the sweeps without --by-sample, or two "
            "sweeps of the same design (the same parameters, design and seed)")


def _value(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def _same_value(x: Any, y: Any) -> bool:
    """Equal parameter values (both missing: a parameter that does not apply to the arm)."""
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (x, y)]
    if any(missing):
        return all(missing)
    if isinstance(x, int | float) and isinstance(y, int | float):
        return math.isclose(float(x), float(y), rel_tol=1e-12, abs_tol=0.0)
    return str(x) == str(y)


def _arm_keys(a: pd.DataFrame, b: pd.DataFrame, by_sample: bool) -> list[str]:
    """Run-level keys both sides share (arm, sample) — checking the arms make sense."""
    keys = []
    has_a, has_b = "arm" in a.columns, "arm" in b.columns
    if has_a and has_b:
        keys.append("arm")
    else:
        for df, label in ((a, "A"), (b, "B")):
            if "arm" in df.columns and df["arm"].nunique() > 1:
                raise NotComparableError(
                    f"{label} has arms {', '.join(dict.fromkeys(df['arm']))} and the other side "
                    "has none: choose one with --arm")
    if by_sample:
        if not ("sample" in a.columns and "sample" in b.columns):
            raise NotComparableError("--by-sample needs two sweeps")
        keys.append("sample")
    return keys


def _check_coins(a: pd.DataFrame, b: pd.DataFrame, notes: list[str]) -> None:
    if "coin" not in a.columns or "coin" not in b.columns:
        return
    ca, cb = set(a["coin"].dropna()), set(b["coin"].dropna())
    if ca and cb and not ca & cb:
        raise NotComparableError(f"no coin in common: A has {', '.join(sorted(ca))}, B has "
                                 f"{', '.join(sorted(cb))}")
    if ca != cb:
        notes.append(f"coins only in A: {sorted(ca - cb)}, only in B: {sorted(cb - ca)}")


def compare_metrics(a: pd.DataFrame, b: pd.DataFrame, by_sample: bool = False,
                    confidence: float = 0.95, notes: list[str] | None = None) -> pd.DataFrame:
    """The joined table of summary metrics with deltas (see the module's docstring)."""
    notes = notes if notes is not None else []
    _check_coins(a, b, notes)
    keys = [*_arm_keys(a, b, by_sample), *(["coin"] if "coin" in a.columns else []), "metric"]
    _check_units(a, b, keys)
    stats_a, stats_b = _mean_std(a, keys), _mean_std(b, keys)
    joined = stats_a.merge(stats_b, how="outer", left_index=True, right_index=True,
                           suffixes=("_a", "_b")).reset_index()
    groups = keys[:-1]  # the runs are counted per arm (sample) and coin
    for df, side in ((a, "a"), (b, "b")):
        runs = _runs(df, keys)
        if groups:
            joined = joined.merge(runs.rename(f"runs_{side}"), how="left", left_on=groups,
                                  right_index=True)
        else:
            joined[f"runs_{side}"] = int(runs.iloc[0]) if len(runs) else 0
    only_a = joined["n_b"].isna().sum()
    only_b = joined["n_a"].isna().sum()
    if only_a or only_b:
        notes.append(f"{only_a} metric(s) only in A, {only_b} only in B (listed with n/a)")
    out = joined[keys].copy()
    out["unit"] = joined["unit_a"].fillna(joined["unit_b"])
    out["a_mean"], out["b_mean"] = joined["mean_a"], joined["mean_b"]
    out["delta"] = joined["mean_b"] - joined["mean_a"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["delta"] / joined["mean_a"].abs()
    pct[(out["delta"] == 0)] = 0.0
    out["delta_pct"] = pct
    low, high = _welch(joined, confidence)
    out["ci_low"], out["ci_high"] = low, high
    out["a_n"] = joined["n_a"].fillna(0).astype("int64")
    out["b_n"] = joined["n_b"].fillna(0).astype("int64")
    out["a_runs"] = joined["runs_a"].fillna(0).astype("int64")
    out["b_runs"] = joined["runs_b"].fillna(0).astype("int64")
    out["confidence"] = confidence  # the level of ci_low … ci_high (a CSV read alone says it)
    out = out.reset_index(drop=True)
    incomplete = [f"{_key(row)} {row['metric']}{coverage(row)}".strip()
                  for row in records(out) if coverage(row)]
    if incomplete:
        notes.append(
            f"{len(incomplete)} metric(s) lack a value in some runs (e.g. never recovered within "
            "the run), their means are over the other runs only: " + "; ".join(incomplete[:20])
            + (" …" if len(incomplete) > 20 else ""))
    return out


def _sparse_means(df: pd.DataFrame, keys: list[str], run_keys: list[str], cols: list[str],
                  series: list[str], runs: pd.DataFrame) -> pd.DataFrame:
    """Per keys and date, the mean over every run of `runs` (a row a run lacks: zero)."""
    sums = df.groupby([*keys, "date"], sort=True)[cols].sum().reindex(columns=series)
    ids = [c for c in RUN_COLUMNS if c in runs.columns]
    distinct = runs.drop_duplicates(ids) if ids else runs.iloc[:1]
    if not run_keys:
        return sums / max(len(distinct), 1)
    count = distinct.groupby(run_keys).size().rename("runs").reset_index()
    # each row by its run group's number of runs (a left merge keeps the rows' order)
    per_row = sums.index.to_frame(index=False)[run_keys].merge(count, on=run_keys, how="left")
    return sums.div(per_row["runs"].to_numpy(dtype=float), axis=0)


def _runs(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The number of runs per group of ``keys`` but the metric (arm, sample, coin): distinct
    (sample, replicate) where the table has them, else the most rows of one metric."""
    groups = keys[:-1]
    ids = [c for c in ("sample", "replicate") if c in df.columns and c not in groups]
    if ids:
        distinct = df.drop_duplicates([*groups, *ids])
        return distinct.groupby(groups, sort=True).size() if groups else \
            pd.Series([len(distinct)])
    sizes = df.groupby(keys, sort=True).size()
    return sizes.groupby(level=list(range(len(groups))), sort=True).max() if groups else \
        pd.Series([int(sizes.max()) if len(sizes) else 0])


def _check_units(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    if "unit" not in a.columns or "unit" not in b.columns:
        return
    ua = a.drop_duplicates("metric").set_index("metric")["unit"]
    ub = b.drop_duplicates("metric").set_index("metric")["unit"]
    both = ua.index.intersection(ub.index)
    bad = [f"{m} ({ua[m]!r} vs {ub[m]!r})" for m in both
           if str(ua[m]) != str(ub[m]) and not (ua[m] != ua[m] and ub[m] != ub[m])]
    if bad:
        raise NotComparableError("the metrics' units differ: " + ", ".join(bad[:10]))


def _mean_std(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    g = df.groupby(keys, sort=True)
    out = pd.DataFrame({"mean": g["value"].mean(), "std": g["value"].std(ddof=1),
                        "n": g["value"].count()})
    out["unit"] = g["unit"].first() if "unit" in df.columns else ""
    return out


def _welch(j: pd.DataFrame, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch's t interval of mean_b − mean_a (NaN unless both sides have 2+ runs)."""
    from scipy import stats

    na, nb = j["n_a"].to_numpy(dtype=float), j["n_b"].to_numpy(dtype=float)
    va = j["std_a"].to_numpy(dtype=float) ** 2 / np.where(na > 0, na, np.nan)
    vb = j["std_b"].to_numpy(dtype=float) ** 2 / np.where(nb > 0, nb, np.nan)
    se = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    dof = np.where(np.isfinite(dof) & (dof > 0), dof, np.inf)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * se
    half = np.where((na >= 2) & (nb >= 2), half, np.nan)
    delta = (j["mean_b"] - j["mean_a"]).to_numpy(dtype=float)
    return delta - half, delta + half


def compare_series(a: pd.DataFrame, b: pd.DataFrame, by_sample: bool = False,
                   notes: list[str] | None = None,
                   runs: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
    """NRMSE of every numeric series, per key, after averaging runs per date.

    With `runs` (each side's runs: a table with a row per run and its run columns), the
    tables are sparse (:data:`SPARSE`) — flows.csv has a row only where rigs moved,
    decisions.csv only where they decided — and a row a run lacks is a zero: each date's
    mean is over every run, and a date and key on one side only is a zero on the other."""
    notes = notes if notes is not None else []
    _check_coins(a, b, notes)
    run_keys = _arm_keys(a, b, by_sample)
    own_a, own_b = ([c for c in df.columns if c not in (*RUN_COLUMNS, "date")
                     and not c.startswith("param_")] for df in (a, b))
    label_cols = [c for c in own_a if not _numeric(a[c])]
    labels_b = [c for c in own_b if not _numeric(b[c])]
    if set(label_cols) != set(labels_b):
        lacks = [f"{side} has no column {', '.join(cols)}" for side, cols in
                 (("B", [c for c in label_cols if c not in labels_b]),
                  ("A", [c for c in labels_b if c not in label_cols])) if cols]
        raise NotComparableError(f"the tables differ: {'; '.join(lacks)}")
    series_a = [c for c in own_a if c not in label_cols]
    series_b = [c for c in own_b if c not in labels_b]
    series = list(dict.fromkeys([*series_a, *series_b]))
    one_sided = [(side, [c for c in mine if c not in other]) for side, mine, other in
                 (("A", series_a, series_b), ("B", series_b, series_a))]
    if any(cols for _, cols in one_sided):  # as a metric on one side only: n/a, and above
        notes.append("series on one side only (NRMSE n/a, above any --fail-above): " + "; ".join(
            f"only in {side}: {', '.join(cols)}" for side, cols in one_sided if cols))
    keys = [*run_keys, *label_cols]
    if runs is None:
        mean_a = a.groupby([*keys, "date"], sort=True)[series_a].mean().reindex(columns=series)
        mean_b = b.groupby([*keys, "date"], sort=True)[series_b].mean().reindex(columns=series)
        common = mean_a.index.intersection(mean_b.index)
    else:
        mean_a, mean_b = (_sparse_means(df, keys, run_keys, cols, series, side_runs)
                          for df, cols, side_runs in ((a, series_a, runs[0]),
                                                      (b, series_b, runs[1])))
        common = mean_a.index.union(mean_b.index)
        mean_a, mean_b = (m.reindex(common, fill_value=0.0) for m in (mean_a, mean_b))
    if len(common) == 0 and (runs is not None or not (len(a) or len(b))):  # no rig moved
        # (or decided) on either side; two files of such a table hold no row at all
        notes.append("neither side has a row in the table: no series to compare")
        return pd.DataFrame()
    if len(common) == 0:
        raise NotComparableError("the two tables have no date (and key) in common")
    if len(common) < max(len(mean_a), len(mean_b)):
        notes.append(f"series compared on {len(common)} common dates×keys (A has "
                     f"{len(mean_a)}, B {len(mean_b)})")
    sa, sb = mean_a.loc[common], mean_b.loc[common]
    rows = []
    # (one key: a level, not a list of one, which pandas < 2.2 warns about)
    level = 0 if len(keys) == 1 else list(range(len(keys)))
    for key, ga in sa.groupby(level=level, sort=True) if keys else [((), sa)]:
        gb = sb.loc[ga.index]
        key = key if isinstance(key, tuple) else (key,)
        for s in series:
            x, y = ga[s].to_numpy(dtype=float), gb[s].to_numpy(dtype=float)
            ok = ~(np.isnan(x) | np.isnan(y))
            if np.isnan(x).all() and np.isnan(y).all():
                continue  # no value on either side (no block on any day): nothing to compare
            if ok.any():
                rmse = float(np.sqrt(np.mean((y[ok] - x[ok]) ** 2)))
                scale = float(np.mean(np.abs(x[ok])))
                nrmse = 0.0 if rmse == 0 else (100.0 * rmse / scale if scale > 0 else math.inf)
                # the means over the dates compared: B − A is, e.g., the hashrate a ban cost on
                # an average day against its counterfactual
                avg_a, avg_b = float(np.mean(x[ok])), float(np.mean(y[ok]))
            else:  # values on one side only: n/a (counted above any --fail-above)
                rmse = nrmse = avg_a = avg_b = math.nan
            rows.append({**dict(zip(keys, key, strict=True)), "series": s,
                         "dates": int(ok.sum()), "rmse": rmse, "nrmse_pct": nrmse,
                         "a_mean": avg_a, "b_mean": avg_b, "mean_delta": avg_b - avg_a})
    return pd.DataFrame(rows)


def _numeric(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


# ---------------------------------------------------------------------------- writing


#: What :func:`write` puts in its folder (and replaces there with ``force``).
OUTPUTS = ("comparison.csv", "nrmse.csv", "inputs_diff.txt", "overlay_*.png")


def check_output(out: str | os.PathLike[str], force: bool = False, plots: bool = False) -> None:
    """Refuse, before anything is written, a folder ``out`` that exists and is not empty
    (unless ``force``: :class:`ResultsExistError`, exit code 2), plots without matplotlib
    (:class:`MissingExtraError`, exit code 2) and a folder that cannot be made (under a file,
    or in a folder that is not writable: :class:`HashsimError`, exit code 2)."""
    from sim.results import check_target

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    if target.is_dir() and not force and any(target.iterdir()):
        raise ResultsExistError(f"{target} exists; use --force (in Python: force=True) to "
                                "replace the comparison in it, or -o to choose another folder")
    if plots:
        _matplotlib()
    check_target(target, "comparison folder")


def write(comparison: Comparison, out: str | os.PathLike[str], plots: bool = True,
          force: bool = False) -> list[Path]:
    """comparison.csv, nrmse.csv, inputs_diff.txt and overlay PNGs into folder ``out``.

    An existing folder that is not empty is refused unless ``force``, which removes the files
    of a previous comparison there (:data:`OUTPUTS`) and leaves any other file alone. Plots
    without matplotlib are refused before anything is written.
    """
    target = Path(out)
    check_output(target, force, plots and comparison.a.series is not None
                 and comparison.b.series is not None)
    if target.is_dir():
        for pattern in OUTPUTS:
            for old in target.glob(pattern):
                if old.is_file():
                    old.unlink()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("comparison", comparison.metrics), ("nrmse", comparison.nrmse)):
        if not df.empty:
            path = target / f"{name}.csv"
            df.to_csv(path, index=False, lineterminator="\n")
            written.append(path)
    diff = target / "inputs_diff.txt"
    diff.write_text("".join(f"{k}\n  A: {va!r}\n  B: {vb!r}\n"
                            for k, va, vb in comparison.input_diff) or "no differences\n")
    written.append(diff)
    if plots and comparison.a.series is not None and comparison.b.series is not None:
        written += overlay_plots(comparison.a.series, comparison.b.series, target,
                                 labels=(f"A: {comparison.a.path}", f"B: {comparison.b.path}"))
    return written


def overlay_plots(a: pd.DataFrame, b: pd.DataFrame, out: Path,
                  labels: tuple[str, str] = ("A", "B")) -> list[Path]:
    """One PNG per (coin, main series): median of each side and its 5–95 % band."""
    subplots = _matplotlib()
    series = [s for s in MAIN_SERIES if s in a.columns and s in b.columns] or \
        [c for c in a.columns if c in b.columns and c not in (*RUN_COLUMNS, "date")
         and _numeric(a[c]) and not c.startswith("param_")][:4]
    coins = sorted(set(a["coin"]) & set(b["coin"])) if "coin" in a.columns else [None]
    written = []
    for coin in coins:
        for s in series:
            fig, ax = subplots(figsize=(9, 4.5))
            sides = [df if coin is None else df[df["coin"] == coin] for df in (a, b)]
            scale, unit = _display_scale(s, pd.concat([side[s] for side in sides]))
            for df, label, color in zip(sides, labels, ("tab:blue", "tab:orange"),
                                        strict=True):
                _draw(ax, df, s, label, color, scale)
            ax.set_title(f"{coin + ': ' if coin else ''}{s}")
            ax.set_xlabel("date")
            ax.set_ylabel(f"{s} ({unit})" if unit else s)
            ax.legend(loc="best", fontsize="small")
            fig.autofmt_xdate()
            fig.tight_layout()
            path = out / f"overlay_{coin + '_' if coin else ''}{s}.png"
            fig.savefig(path, dpi=100, metadata={"Software": None})
            written.append(path)
    return written


def _matplotlib() -> Any:
    """sim.plot_style.subplots, or :class:`MissingExtraError` (exit code 2)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from sim.experiments.executors import MissingExtraError

        raise MissingExtraError("plots need matplotlib: pip install 'hashsim[plot]' (or pass "
                                "--no-plots); nothing was written") from None
    from sim.plot_style import subplots

    return subplots


def _display_scale(series: str, values: pd.Series) -> tuple[float, str]:
    """A readable scale for a series' axis: EH/s … H/s for a hashrate (``*_hs``, as the run's
    figures show it), else an SI multiple (``T``, ``G``, …) — a raw axis of 1e20 H/s showed
    only an offset."""
    from sim.plot_style import si_scale
    from sim.rundata import hashrate_scale

    sizes = pd.to_numeric(values, errors="coerce").abs()
    top = float(sizes[np.isfinite(sizes)].max())  # NaN where none is finite: read as 0
    return hashrate_scale(top) if series.endswith("_hs") else si_scale(top, "")


def _draw(ax: Any, df: pd.DataFrame, series: str, label: str, color: str, scale: float
          ) -> None:
    groups = ["arm"] if "arm" in df.columns and df["arm"].nunique() > 1 else []
    for arm, part in df.groupby(groups, sort=True) if groups else [((RUN_ARM,), df)]:
        per_date = part.groupby("date", sort=True)[series]
        dates = pd.to_datetime(pd.Series(per_date.median().index))
        med = per_date.median().to_numpy() / scale
        name = label if not groups else f"{label} [{arm[0] if isinstance(arm, tuple) else arm}]"
        line = ax.plot(dates, med, label=name, color=color if not groups else None, lw=1.4)
        if per_date.count().max() > 1:
            ax.fill_between(dates, per_date.quantile(0.05).to_numpy() / scale,
                            per_date.quantile(0.95).to_numpy() / scale, alpha=0.2,
                            color=line[0].get_color(), lw=0)
