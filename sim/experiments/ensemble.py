"""Ensemble summaries of a sweep (or of a multi-replicate run): bands, statistics, differences.

- :func:`series_bands` — per arm (in the experiment's order; optionally per sample), coin and
  date: the median and the 5–95 % band of the main series across runs.
- :func:`metric_stats` — per arm (in the experiment's order), coin and summary metric: n, mean,
  std, a t confidence interval of the mean, median and the 5–95 % range.
- :func:`arm_differences` — each arm minus the first, paired by (sample, replicate): with
  common random numbers the pairs share their random streams, so the interval of the mean
  difference is much narrower than the arms' own spread.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.errors import InputError, UsageError
from sim.rundata import read_table, table_path

#: The network table's series that bands are computed for (those present).
MAIN_SERIES = ("hashrate_hs", "difficulty", "mean_block_time_s", "hashprice_usd_per_phs_day",
               "revenue_usd")
#: Label of the runs of a plain `hashsim run` folder, which has no arm column.
RUN_ARM = "run"


def series_bands(network: pd.DataFrame, by: Sequence[str] = ("arm",),
                 series: Sequence[str] = MAIN_SERIES) -> pd.DataFrame:
    """Long table: *by*, coin, date, series, n, p05, median, p95, mean."""
    network = _with_arm(network)
    keys = [*by, "coin", "date"]
    present = [s for s in series if s in network.columns]
    grouped = network.groupby(keys, sort=True)[present]
    parts = {"n": grouped.count(), "p05": grouped.quantile(0.05), "median": grouped.median(),
             "p95": grouped.quantile(0.95), "mean": grouped.mean()}
    long = [df.reset_index().melt(id_vars=keys, var_name="series", value_name=stat)
            for stat, df in parts.items()]
    out = long[0]
    for df in long[1:]:
        out = out.merge(df, on=[*keys, "series"], how="left")
    out["n"] = out["n"].astype("int64")
    out = _in_order(out, [*by, "coin", "series", "date"],
                    {"arm": _arm_order(network), "series": _order(present)})
    return out[[*keys[:-1], "series", "date", "n", "p05", "median", "p95", "mean"]]


def metric_stats(summary: pd.DataFrame, by: Sequence[str] = ("arm",),
                 confidence: float = 0.95) -> pd.DataFrame:
    """Per *by*, coin, metric: unit, n, n_missing, mean, std, ci_low, ci_high, median, p05, p95.

    ``n`` counts the runs with a value (a metric may be undefined in a run, e.g. a recovery
    that did not happen: ``n_missing``); the interval is Student's t for the mean.
    """
    summary = _with_arm(summary)
    keys = [*by, "coin", "metric"]
    return _in_order(_stats(summary, keys, confidence), keys, {"arm": _arm_order(summary)})


def _arm_order(df: pd.DataFrame) -> dict[Any, int]:
    """Each arm's place in the experiment: the order the arms' rows first come in `df` (as
    the combined tables hold them, and as :func:`arm_differences` takes them)."""
    return _order(df["arm"])


def _order(values: Iterable[Any]) -> dict[Any, int]:
    return {v: i for i, v in enumerate(dict.fromkeys(values))}


def _in_order(df: pd.DataFrame, columns: list[str], orders: dict[str, dict[Any, int]]
              ) -> pd.DataFrame:
    """`df` sorted by `columns`, each of `orders`' columns in its order (arms in the
    experiment's, not alphabetically), the others by value; a fresh index."""
    return df.sort_values(columns, key=lambda c: c.map(orders[c.name]) if c.name in orders
                          else c, ignore_index=True)


def _stats(df: pd.DataFrame, keys: list[str], confidence: float) -> pd.DataFrame:
    """Vectorised :func:`describe` of ``df['value']`` per ``keys`` (with the first unit)."""
    from scipy import stats

    grouped = df.groupby(keys, sort=True)
    values = grouped["value"]
    n = values.count()
    out = pd.DataFrame({"unit": grouped["unit"].first()}) if "unit" in df.columns \
        else pd.DataFrame(index=n.index)
    out["n"] = n
    out["n_missing"] = values.size() - n
    out["mean"] = values.mean()
    out["std"] = values.std(ddof=1)
    dof = np.where(n.to_numpy() > 1, n.to_numpy() - 1, 1)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * out["std"].to_numpy() / np.sqrt(
        np.maximum(n.to_numpy(), 1))
    half = np.where(n.to_numpy() > 1, half, np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["median"] = values.median()
    out["p05"] = values.quantile(0.05)
    out["p95"] = values.quantile(0.95)
    return out.reset_index()


def describe(values: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """n, n_missing, mean, std, t interval of the mean, median, 5 % and 95 % of ``values``."""
    ok = values[~np.isnan(values)]
    n = len(ok)
    out: dict[str, float] = {"n": n, "n_missing": len(values) - n}
    if n == 0:
        return out | dict.fromkeys(("mean", "std", "ci_low", "ci_high", "median", "p05", "p95"),
                                   float("nan"))
    mean = float(np.mean(ok))
    std = float(np.std(ok, ddof=1)) if n > 1 else float("nan")
    half = t_half_width(std, n, confidence)
    p05, median, p95 = (float(q) for q in np.quantile(ok, [0.05, 0.5, 0.95]))
    return out | {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half,
                  "median": median, "p05": p05, "p95": p95}


def t_half_width(std: float, n: int, confidence: float) -> float:
    """Half width of Student's t interval for a mean of ``n`` values (NaN when n < 2)."""
    from scipy import stats

    if n < 2 or not np.isfinite(std):
        return float("nan")
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n))


def arm_differences(summary: pd.DataFrame, reference: str | None = None,
                    confidence: float = 0.95, by: Sequence[str] = ("arm",)) -> pd.DataFrame:
    """Each arm minus ``reference`` (default: the first arm), paired by (sample, replicate).

    Columns: arm, reference, coin, metric, unit, n, mean_diff, std_diff, ci_low, ci_high;
    with ``by=("arm", "sample")`` the statistics are per design point too (a ``sample``
    column after ``reference``), as :func:`metric_stats`' are.
    """
    summary = _with_arm(summary)
    arms = list(dict.fromkeys(summary["arm"]))
    extra = [c for c in by if c != "arm"]
    columns = ["arm", "reference", *extra, "coin", "metric", "unit", "n", "mean_diff",
               "std_diff", "ci_low", "ci_high"]
    if len(arms) < 2:
        return pd.DataFrame(columns=columns)
    reference = reference or arms[0]
    pair = [c for c in ("sample", "replicate") if c in summary.columns]
    keys = [*pair, "coin", "metric"]
    base = summary[summary["arm"] == reference].set_index(keys)["value"]
    rows: list[pd.DataFrame] = []
    for arm in arms:
        if arm == reference:
            continue
        other = summary[summary["arm"] == arm]
        units = other.drop_duplicates(["coin", "metric"]).set_index(["coin", "metric"])["unit"]
        diff = (other.set_index(keys)["value"] - base).dropna().reset_index()
        found = _stats(diff, [*extra, "coin", "metric"], confidence)
        found.insert(0, "reference", reference)
        found.insert(0, "arm", arm)
        found.insert(4 + len(extra), "unit", [units.get((c, m), "") for c, m in
                                              zip(found["coin"], found["metric"], strict=True)])
        rows.append(found.rename(columns={"mean": "mean_diff", "std": "std_diff"}))
    return pd.concat(rows, ignore_index=True)[columns]


def failed_runs(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The runs a sweep's manifest lists as failed (none for a plain run's folder)."""
    manifest = _manifest(directory)
    failed = manifest.get("failed") if manifest else None
    return [f for f in failed if isinstance(f, dict)] if isinstance(failed, list) else []


def incomplete_warning(directory: str | os.PathLike[str], then: str = "summarize"
                       ) -> str | None:
    """What a reader of a sweep's statistics must know when the sweep is not complete: the
    runs that failed (absent from the tables) or a sweep that did not finish; else None.
    ``then`` is the command to run again once it is complete."""
    manifest = _manifest(directory)
    if not manifest:
        return None
    failed = failed_runs(directory)
    status = manifest.get("status")
    total = manifest.get("num_tasks", "?")
    rerun = resume_command(directory, manifest)
    if failed:
        where = ", ".join(f"sample {f.get('sample')} arm {f.get('arm')} replicate "
                          f"{f.get('replicate')}" for f in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        return (f"warning: {len(failed)} of {total} runs of this sweep failed ({where}{more}; "
                f"manifest.json lists them, errors/ has their tracebacks): the ensemble is "
                f"incomplete and these statistics leave them out"
                f"{' (column n_failed)' if then == 'summarize' else ''}. Rerun them with "
                f"`{rerun}`, then {then} again.")
    if status not in (None, "complete"):
        return (f"warning: this sweep did not finish (status {status!r} in manifest.json): "
                f"the tables may lack runs or be those of an earlier attempt. Finish it with "
                f"`{rerun}`, then {then} again.")
    return None


def check_finished(directory: str | os.PathLike[str], then: str) -> None:
    """Raise InputError, naming the `--resume` command, if ``directory`` holds a sweep that
    was stopped before it wrote its combined tables (killed, or interrupted)."""
    manifest = _manifest(directory)
    if manifest and manifest.get("status") != "complete":
        raise InputError(f"{directory}: this sweep did not finish (status "
                         f"{manifest.get('status')!r} in manifest.json), so it has no "
                         f"combined tables yet; finish it with "
                         f"`{resume_command(directory, manifest)}`, then {then} again")


def _manifest(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    import json

    path = Path(directory) / "manifest.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and "hashsim_experiment" in doc else None


def resume_command(directory: str | os.PathLike[str], manifest: dict[str, Any]) -> str:
    """The `hashsim sweep … --resume` command that finishes the sweep in ``directory``."""
    import shlex

    words = ["hashsim", "sweep", str(manifest.get("experiment_file") or "EXPERIMENT"), "-o",
             str(directory)]
    for expr in manifest.get("extra_overrides") or []:
        words += ["--set", str(expr)]
    if manifest.get("format", "csv") != "csv":
        words += ["--format", str(manifest["format"])]
    if manifest.get("seed_source") == "given":
        words += ["--seed", str(manifest.get("seed"))]
    return shlex.join([*words, "--resume"])


def _failed_counts(metrics: pd.DataFrame, failed: list[dict[str, Any]], by: Sequence[str]
                   ) -> list[int]:
    """Per row of ``metrics``: the failed runs of its group (arm, or arm and sample)."""
    counts: dict[tuple[str, ...], int] = {}
    for f in failed:
        key = tuple(str(f.get(k)) for k in by)
        counts[key] = counts.get(key, 0) + 1
    rows = zip(*(metrics[k].astype(str) for k in by), strict=True) if len(metrics) else []
    return [counts.get(tuple(row), 0) for row in rows]


def _with_arm(df: pd.DataFrame) -> pd.DataFrame:
    if "arm" in df.columns:
        return df
    return df.assign(arm=RUN_ARM)


def _with_parameters(df: pd.DataFrame, src: Path) -> pd.DataFrame:
    """`df` with the param_<name> columns of the sweep's samples table after its `sample`
    column (rows in their order); as it is where either has none."""
    path = table_path(src, "samples")
    if "sample" not in df.columns or path is None:
        return df
    samples = read_table(path, kind="samples")
    params = [c for c in samples.columns if c.startswith("param_") and c not in df.columns]
    if "sample" not in samples.columns or not params:
        return df
    merged = df.merge(samples[["sample", *params]].drop_duplicates("sample"), on="sample",
                      how="left")
    at = list(df.columns).index("sample") + 1
    cols = list(df.columns)
    return merged[[*cols[:at], *params, *cols[at:]]]


def summarize_results(directory: str | os.PathLike[str], by_sample: bool = False,
                      confidence: float = 0.95, out: str | os.PathLike[str] | None = None
                      ) -> dict[str, Path]:
    """Write ensemble_series.csv, ensemble_metrics.csv and ensemble_differences.csv.

    ``directory`` is a sweep's results folder (or a `hashsim run` folder with replicates);
    the files go to ``out`` (default: ``directory``).
    """
    from sim.results import confidence_level
    from sim.rundata import check_results_folder

    confidence = confidence_level(confidence)
    src = Path(directory)
    check_results_folder(src)  # as plot and report do: run.json or a valid manifest.json
    network_path, summary_path = table_path(src, "network"), table_path(src, "summary")
    if network_path is None or summary_path is None:
        check_finished(src, "summarize")
        raise InputError(f"{src}: no network and summary tables (is it a results folder, "
                           "and has the sweep finished?)")
    by = ["arm", "sample"] if by_sample else ["arm"]
    keys = ["sample", "arm", "replicate", "date", "coin", *MAIN_SERIES]
    try:
        network = read_table(network_path, keys, kind="network")
        summary = read_table(summary_path, ["sample", "arm", "replicate", "coin", "metric",
                                            "value", "unit"], kind="summary")
    except pd.errors.EmptyDataError:  # the tables of a sweep none of whose runs succeeded
        failed = failed_runs(src)
        why = (f" (all {len(failed)} runs failed: manifest.json and errors/ list them)"
               if failed else "")
        raise InputError(f"{src}: the tables hold no run, nothing to summarize{why}") from None
    if by_sample and "sample" not in network.columns:
        raise UsageError(f"{src} has no samples (it is not a sweep): drop --by-sample")
    metrics = metric_stats(summary, by, confidence)
    metrics.insert(list(metrics.columns).index("n_missing") + 1, "n_failed",
                   _failed_counts(metrics, failed_runs(src), by))
    differences = arm_differences(summary, confidence=confidence, by=by)
    # the level of each ci_low … ci_high, so that a CSV read alone says it
    metrics["confidence"] = differences["confidence"] = confidence
    tables = {
        "ensemble_series": series_bands(network, by),
        "ensemble_metrics": metrics,
        "ensemble_differences": differences,
    }
    if by_sample:  # each design point's parameters beside its number (from samples.csv)
        tables = {name: _with_parameters(df, src) for name, df in tables.items()}
    target = Path(out) if out is not None else src
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in tables.items():
        path = target / f"{name}.csv"
        tmp = target / f".{name}.csv.tmp-{os.getpid()}"
        df.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)
        written[name] = path
    return written
