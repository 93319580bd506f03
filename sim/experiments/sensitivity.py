"""Global sensitivity: Sobol' indices (Saltelli/Jansen) and Morris elementary effects.

Both work on one output value per design point (a summary metric averaged over replicates) and
give bootstrap confidence intervals (percentile intervals over resampled base samples or
trajectories). They are plain numpy, checked in the tests against the Ishigami function's
analytic indices (and against SALib where it is installed).

Sobol' (design ``sobol``, N·(d+2) points in blocks A, AB^1 … AB^d, B):

- first order (Saltelli et al. 2010): ``S_i = mean(f(B)·(f(AB^i) − f(A))) / V``
- total (Jansen 1999): ``S_Ti = mean((f(A) − f(AB^i))²) / (2V)``

with V the variance of f over the A and B points, and f centred on its mean first (the
first-order estimator is not invariant to a shift of f; centring lowers its variance).

Morris (design ``morris``): the elementary effect of a step that moves parameter i by ±Δ in
the unit cube is ``(f(x') − f(x)) / (±Δ)``; per parameter ``mu`` (their mean), ``mu_star``
(the mean of their absolute values, a ranking of importance) and ``sigma`` (their standard
deviation: interactions and non-linearity). Effects are per unit of the parameter's range.
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.errors import InputError, UsageError


def sobol_indices(y: np.ndarray, num_params: int, names: Sequence[str] | None = None,
                  resamples: int = 1000, confidence: float = 0.95, seed: int = 0
                  ) -> pd.DataFrame:
    """First-order and total Sobol' indices of outputs ``y`` of a Saltelli design.

    Parameters
    ----------
    y
        Shape (N·(d+2),), in the design's order (per base sample: A, AB^1 … AB^d, B). Base
        samples with a NaN anywhere in their block are left out.
    num_params
        d.

    Returns
    -------
    DataFrame
        parameter, S1, S1_low, S1_high, ST, ST_low, ST_high, n (base samples used).
    """
    d = num_params
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(d)]
    blocks = np.asarray(y, dtype=float).reshape(-1, d + 2)
    blocks = blocks[~np.isnan(blocks).any(axis=1)]
    blocks = blocks - blocks.mean()  # the first-order estimator is not shift-invariant
    n = len(blocks)
    if n < 2:
        raise InputError(f"Sobol' indices need at least 2 complete base samples, got {n}")
    f_a, f_b, f_ab = blocks[:, 0], blocks[:, d + 1], blocks[:, 1:d + 1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    alpha = (1 - confidence) / 2
    rows = []
    for i in range(d):
        s1, st = _sobol_pair(f_a, f_b, f_ab[:, i])
        s1_boot, st_boot = _sobol_pair(f_a[idx], f_b[idx], f_ab[idx, i])
        rows.append({"parameter": names[i], "S1": s1,
                     "S1_low": np.nanquantile(s1_boot, alpha),
                     "S1_high": np.nanquantile(s1_boot, 1 - alpha),
                     "ST": st, "ST_low": np.nanquantile(st_boot, alpha),
                     "ST_high": np.nanquantile(st_boot, 1 - alpha), "n": n})
    return pd.DataFrame(rows)


def _sobol_pair(f_a: np.ndarray, f_b: np.ndarray, f_abi: np.ndarray) -> tuple[Any, Any]:
    """(S_i, S_Ti) along the last axis (a batch of bootstrap resamples, or one sample)."""
    var = np.var(np.concatenate([f_a, f_b], axis=-1), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.mean(f_b * (f_abi - f_a), axis=-1) / var
        st = 0.5 * np.mean((f_a - f_abi) ** 2, axis=-1) / var
    return s1, st


def morris_indices(y: np.ndarray, steps: Sequence[Sequence[int]], delta: float,
                   num_params: int, names: Sequence[str] | None = None, resamples: int = 1000,
                   confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Morris' mu, mu_star (with a bootstrap interval) and sigma per parameter.

    Parameters
    ----------
    y
        Shape (r·(d+1),): outputs along the trajectories, in design order. Trajectories with a
        NaN are left out.
    steps
        Per trajectory ``[j, sign, j, sign, …]`` (from the design's info).
    delta
        The step Δ in the unit cube.

    Returns
    -------
    DataFrame
        parameter, mu, mu_star, mu_star_low, mu_star_high, sigma, n (trajectories used).
    """
    d = num_params
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(d)]
    traj = np.asarray(y, dtype=float).reshape(-1, d + 1)
    effects = np.empty((len(traj), d))
    for t, (values, step) in enumerate(zip(traj, steps, strict=True)):
        jumps = np.diff(values)
        for k in range(d):
            j, sign = int(step[2 * k]), int(step[2 * k + 1])
            effects[t, j] = jumps[k] / (sign * delta)
    effects = effects[~np.isnan(effects).any(axis=1)]
    r = len(effects)
    if r < 2:
        raise InputError(f"Morris indices need at least 2 complete trajectories, got {r}")
    rng = np.random.default_rng(seed)
    boot = np.abs(effects)[rng.integers(0, r, size=(resamples, r))].mean(axis=1)
    alpha = (1 - confidence) / 2
    return pd.DataFrame({
        "parameter": names, "mu": effects.mean(axis=0), "mu_star": np.abs(effects).mean(axis=0),
        "mu_star_low": np.quantile(boot, alpha, axis=0),
        "mu_star_high": np.quantile(boot, 1 - alpha, axis=0),
        "sigma": effects.std(axis=0, ddof=1), "n": r,
    })


def analyze(directory: str | os.PathLike[str], metric: str, coin: str | None = None,
            arms: Sequence[str] = (), resamples: int = 1000, confidence: float = 0.95,
            seed: int = 0) -> pd.DataFrame:
    """Sensitivity indices of summary ``metric`` for each arm of a sobol or morris sweep.

    The output of a design point is the metric's mean over its replicates that have a value;
    a point where some have none (a recovery not reached within the run) averages fewer, and
    the column `points_partial` counts such points (the CLI warns of them). A point where none
    has one leaves its Sobol' block or Morris trajectory out (`n` counts those used).
    """
    from sim.experiments.runner import read_manifest
    from sim.results import confidence_level, whole_number
    from sim.rundata import read_table, table_path

    confidence = confidence_level(confidence)
    resamples = whole_number(resamples, "resamples", 1)

    manifest = read_manifest(directory)
    design = manifest.get("design")
    if not isinstance(design, dict):
        raise _manifest_error(Path(directory), [f"'design' is {reprlib.repr(design)}, not a "
                                                "design"])
    kind = design.get("kind")
    if kind not in ("sobol", "morris"):
        raise UsageError(f"{directory}: sensitivity indices need a sobol or morris design; "
                           f"this sweep's design is {kind!r} (use `hashsim summarize`)")
    names, known_arms, num_samples = _check_manifest(Path(directory), manifest)
    path = table_path(directory, "summary")
    if path is None:
        from sim.experiments.ensemble import check_finished

        check_finished(directory, "analyse")
        raise InputError(f"{directory}: no summary table (has the sweep finished?)")
    columns = ["sample", "arm", "replicate", "coin", "metric", "value", "unit"]
    try:
        summary = read_table(path, columns, kind="summary")
    except pd.errors.EmptyDataError:  # every run failed: the combined table is empty
        summary = pd.DataFrame(columns=columns)
    for arm in arms:
        if arm not in known_arms:
            raise UsageError(f"no arm '{arm}'; arms are: {', '.join(known_arms)}")
    _check_complete(directory, manifest, summary[["sample", "arm", "replicate"]]
                    .drop_duplicates(), arms or known_arms, num_samples)
    problems = _design_problems(design, len(names), num_samples)
    if problems:  # (after the runs: a sweep with runs missing is told how to finish)
        raise _manifest_error(Path(directory), problems)
    summary = summary[summary["metric"] == metric]
    if summary.empty:
        known = sorted(set(read_table(path, ["metric"], kind="summary")["metric"]))
        from sim.validation import did_you_mean

        hint = did_you_mean(metric, known) or f"metrics are: {', '.join(known)}"
        raise UsageError(f"no metric '{metric}' in {path}; {hint}")
    coins = sorted(set(summary["coin"]))
    if coin is None and len(coins) > 1:
        raise UsageError(f"the sweep has coins {', '.join(coins)}: choose one with --coin")
    coin = coin or coins[0]
    if coin not in coins:
        raise UsageError(f"no coin '{coin}' in {path}; coins are: {', '.join(coins)}")
    units = summary.loc[summary["coin"] == coin, "unit"].dropna() \
        if "unit" in summary.columns else pd.Series(dtype=str)
    unit = str(units.iloc[0]) if len(units) else ""
    parts = []
    for arm in arms or known_arms:
        sel = summary[(summary["coin"] == coin) & (summary["arm"] == arm)]
        by_point = sel.groupby("sample")["value"]
        y = by_point.mean().reindex(range(num_samples)).to_numpy()
        counts = by_point.agg(["count", "size"])
        partial = int(((counts["count"] > 0) & (counts["count"] < counts["size"])).sum())
        if kind == "sobol":
            df = sobol_indices(y, len(names), names, resamples, confidence, seed)
        else:
            df = morris_indices(y, design["steps"], float(design["delta"]), len(names), names,
                                resamples, confidence, seed)
        df.insert(0, "arm", arm)
        df.insert(1, "coin", coin)
        df.insert(2, "metric", metric)
        df.insert(3, "unit", unit)  # of the metric: Morris' effects are in it (per full range)
        df["points_partial"] = partial
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _check_manifest(directory: Path, manifest: dict[str, Any]) -> tuple[list[str], list[str], int]:
    """The parameters' names, the arms and the number of design points of a sweep's manifest:
    a hand-edited or damaged manifest.json is an `InputError` (exit code 3) that says what is
    wrong, not a traceback (:func:`_design_problems` checks the design against them)."""
    problems = []
    names, arms = manifest.get("parameters"), manifest.get("arms")
    for key, value in (("parameters", names), ("arms", arms)):
        if not isinstance(value, dict | list) or not value or \
                not all(isinstance(n, str) for n in value):
            problems.append(f"{key!r} is {reprlib.repr(value)}, not the sweep's {key} by name")
    num_samples = manifest.get("num_samples")
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 0:
        problems.append(f"'num_samples' is {reprlib.repr(num_samples)}, not a count")
    if problems:
        raise _manifest_error(directory, problems)
    return list(names or ()), list(arms or ()), int(num_samples or 0)


def _manifest_error(directory: Path, problems: list[str]) -> InputError:
    return InputError(f"{directory / 'manifest.json'}: {'; '.join(problems)} (a hand-edited "
                      "manifest? run the sweep again, with --force)")


def _design_problems(design: dict[str, Any], d: int, num_samples: int) -> list[str]:
    """What in a sobol or morris design does not fit its d parameters and its points."""
    if design["kind"] == "sobol":
        base = design.get("base_samples")
        if not isinstance(base, int) or isinstance(base, bool) or base < 1:
            return [f"design.base_samples is {reprlib.repr(base)}, not a count"]
        if num_samples != base * (d + 2):
            return [f"num_samples is {num_samples}, but a sobol design of {base} base samples "
                    f"and {d} parameters has {base} × ({d} + 2) = {base * (d + 2)} points"]
        return []
    steps, delta = design.get("steps"), design.get("delta")
    if not isinstance(delta, int | float) or isinstance(delta, bool) or not 0 < delta <= 1:
        return [f"design.delta is {reprlib.repr(delta)}, not a step in (0, 1]"]
    if not isinstance(steps, list) or not all(
            isinstance(t, list) and len(t) == 2 * d
            and all(isinstance(j, int) and 0 <= j < d for j in t[::2])
            and all(sign in (-1, 1) for sign in t[1::2]) for t in steps):
        return [f"design.steps is {reprlib.repr(steps)}, not one [parameter, ±1, …] list of "
                f"{2 * d} numbers per trajectory of the {d} parameters"]
    if num_samples != len(steps) * (d + 1):
        return [f"num_samples is {num_samples}, but a morris design of {len(steps)} "
                f"trajectories and {d} parameters has {len(steps)} × ({d} + 1) = "
                f"{len(steps) * (d + 1)} points"]
    return []


def _check_complete(directory: str | os.PathLike[str], manifest: dict[str, Any],
                    runs: pd.DataFrame, arms: Sequence[str], num_samples: int) -> None:
    """Refuse a sweep with runs missing: Sobol' and Morris estimators need every design point
    (a design point without its runs would drop a whole base sample or trajectory, and one
    with some replicates missing would average fewer runs than the others)."""
    replicates = manifest.get("replicates")
    if not isinstance(replicates, int):
        replicates = int(runs["replicate"].max()) + 1 if len(runs) else 1
    expected = pd.MultiIndex.from_product(
        [range(num_samples), list(arms), range(replicates)], names=["sample", "arm", "replicate"])
    present = pd.MultiIndex.from_frame(runs.astype({"sample": "int64", "arm": str,
                                                    "replicate": "int64"}))
    missing = expected.difference(present)
    if not len(missing):
        return
    shown = ", ".join(f"sample {s} arm {a} replicate {r}" for s, a, r in list(missing)[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    samples = sorted({int(s) for s, _, _ in missing})
    listed = ", ".join(str(s) for s in samples[:20]) + (" …" if len(samples) > 20 else "")
    failed_runs = manifest.get("failed")
    failed = len(failed_runs) if isinstance(failed_runs, list) else 0
    why = f" ({failed} failed: manifest.json and errors/ list them)" if failed else ""
    from sim.experiments.ensemble import resume_command

    raise UsageError(
        f"{directory}: the sweep is incomplete: {len(missing)} of {len(expected)} runs have no "
        f"results{why}: {shown}{more}. Sobol' and Morris indices need every design point "
        f"(missing samples: {listed}); run the missing ones with "
        f"`{resume_command(directory, manifest)}`, then analyse again")


def write(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    df.to_csv(tmp, index=False, lineterminator="\n")
    os.replace(tmp, target)
    return target
