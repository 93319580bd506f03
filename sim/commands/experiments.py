"""The experiment commands: ``sweep``, ``summarize``, ``sensitivity`` and ``compare``.

Registered on the ``hashsim`` group by ``cli.py`` (``main.add_command(sweep)`` …). Exit codes:
0 success; 1 a ``--fail-above`` check failed; 2 usage error or refused overwrite; 3 invalid
experiment or input; 4 some runs of a sweep failed; 130 interrupted.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sim.commands.common import (
    FiniteFloat,
    check_output,
    check_target,
    default_output,
    experiment_file,
    fail,
    report_errors,
    scenario_file,
)
from sim.results import CONFIDENCE_RANGE

if TYPE_CHECKING:
    import pandas as pd

EXIT_CHECK_FAILED = 1
EXIT_RUNS_FAILED = 4


_fail = fail
_report_errors = report_errors(interrupted="interrupted: finished runs are kept (--resume)")


#: The level of a confidence interval, as every command here takes it.
CONFIDENCE = FiniteFloat(*CONFIDENCE_RANGE)


# ---------------------------------------------------------------------------- sweep


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Results folder [default: results/<experiment name>].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Runs at once: 1 runs in this process; N uses a pool of N worker "
              "processes (or N Dask workers with --scheduler local) [default: the number of "
              "cores].")
@click.option("--scheduler", metavar="ADDRESS|local",
              help="Run on Dask: 'local' starts a LocalCluster; tcp://host:8786 connects to a "
              "running scheduler (e.g. from dask-jobqueue on SLURM/PBS; host:port means "
              "tcp://, and -j does not apply to it). Needs hashsim[dask].")
@click.option("--resume", is_flag=True, help="Continue an interrupted or partly failed sweep "
              "in the results folder: finished runs are kept, the others run.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing results folder.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True, help="File format of shards and combined tables (parquet "
              "needs hashsim[parquet]).")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value in every arm (after the file's own set), e.g. "
              "--set end=2021-06-30. Repeatable.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1),
              help="Master seed, replacing the experiment's.")
@click.option("--batch", type=click.IntRange(min=1), default=None, metavar="N",
              help="Replicates of one design point and arm run together as one world of N "
              "copies (cohort resolution), which costs far less per replicate; the results "
              "are the same whatever N. 1 runs them one at a time [default: automatic, at "
              "most 64, fewer for worlds of many cohorts].")
@click.option("--dry-run", is_flag=True, help="Check the experiment and show its design; "
              "run nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@_report_errors
def sweep(experiment: Path, output: Path | None, jobs: int | None, scheduler: str | None,
          resume: bool, force: bool, fmt: str, overrides: Sequence[str], seed: int | None,
          batch: int | None, dry_run: bool, quiet: bool) -> None:
    """Run EXPERIMENT (a file, or a bundled experiment's name: see `hashsim scenarios`):
    every design point × arm × replicate, one shard per run.

    Runs are written as they finish to OUTPUT/shards/; then the combined tables (network.csv,
    …, summary.csv with sample, arm, replicate and param_<name> columns), samples.csv and
    manifest.json. The combined tables are identical whatever -j, executor or order. A run
    that fails is recorded in OUTPUT/errors/ and the manifest, the others carry on, and the
    exit code is 4; --resume reruns it.
    """
    from sim.experiments.plan import prepare
    from sim.experiments.runner import resume_seed, run_sweep, samples_csv

    if resume and force:
        _fail("error: give --resume or --force, not both", 2)
    if experiment_file(str(experiment)) is None and scenario_file(str(experiment)) is not None:
        _fail(f"error: {experiment} is a scenario, not an experiment (arms, replicates, design, "
              f"parameters): run it with `hashsim run {experiment}`, or name it as the "
              "`scenario:` of an experiment file (docs/experiments.md)", 2)
    plan = prepare(experiment, overrides, seed)
    exp = plan.experiment
    target = output or default_output(exp.name)
    if resume and seed is None:
        drawn = resume_seed(target)  # a seed drawn by the first attempt is kept
        if drawn is not None and drawn != plan.seed:
            plan = prepare(experiment, overrides, drawn)
    if dry_run:
        click.echo(f"{exp.name}: {plan.design.num_samples} design point(s) ({exp.design.kind}) "
                   f"× {len(plan.arms)} arm(s) × {exp.replicates} replicate(s) = "
                   f"{plan.num_tasks} runs; seed {plan.seed} ({plan.seed_source})")
        for arm in plan.arms:
            click.echo(f"  arm {arm.name}: {' '.join([str(arm.scenario_file), *arm.overrides])}")
        samples = samples_csv(plan)
        click.echo(samples.head(20).to_string(index=False))
        if len(samples) > 20:
            click.echo(f"… {len(samples) - 20} more rows (all in samples.csv of the sweep)")
        return
    check_target(target, "results folder")  # before a pool or cluster is started
    report = run_sweep(plan, target, jobs=jobs, scheduler=scheduler, resume=resume,
                       force=force, fmt=fmt, progress=not quiet, command=sys.argv, batch=batch)
    ran = report.ran - len(report.failed)
    click.echo(f"wrote {target}/ ({report.num_tasks} runs: {ran} ran, {report.skipped} kept "
               f"from before, {len(report.failed)} failed; {report.executor}; "
               f"{report.wall_time_s:.1f} s; seed {plan.seed})", err=True)
    if report.removed:
        click.echo(f"removed {', '.join(report.removed)}: computed from the tables before this "
                   "resume; run `hashsim summarize` (sensitivity, report) again", err=True)
    if report.ran and resume and (target / "figures").is_dir():
        click.echo(f"note: {target / 'figures'} predates this resume; `hashsim plot "
                   f"{target}` redraws it", err=True)
    if report.failed:
        for f in report.failed[:10]:
            click.echo(f"  failed: sample {f['sample']} arm {f['arm']} replicate "
                       f"{f['replicate']}: {f['message']} (see {target / f['error']})", err=True)
        if len(report.failed) > 10:
            click.echo(f"  … and {len(report.failed) - 10} more (manifest.json)", err=True)
        _fail(f"error: {len(report.failed)} run(s) failed; the others are in {target}/ — "
              "fix and rerun them with --resume", EXIT_RUNS_FAILED)


# ---------------------------------------------------------------------------- summarize


@click.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the ensemble_*.csv files [default: RESULTS].")
@click.option("--by-sample", is_flag=True, help="Bands and statistics per design point too.")
@click.option("--confidence", type=CONFIDENCE, default=0.95,
              show_default=True, help="Level of the confidence intervals.")
@click.option("-q", "--quiet", is_flag=True, help="Write the files; print only warnings.")
@_report_errors
def summarize(results: Path, output: Path | None, by_sample: bool, confidence: float,
              quiet: bool) -> None:
    """Ensemble summaries of a sweep (or of a run with replicates).

    \b
    ensemble_series.csv       per arm, coin, series and date: n, p05, median, p95, mean
    ensemble_metrics.csv      per arm, coin and metric: n, mean, std, CI, median, p05, p95
    ensemble_differences.csv  each arm minus the first, paired by (sample, replicate)

    A sweep whose runs did not all succeed is summarized from those that did, with a warning
    on stderr and the failed runs counted in ensemble_metrics.csv's n_failed.
    """
    import pandas as pd

    from sim.experiments.ensemble import incomplete_warning, summarize_results

    check_target(output or results, "summary folder")  # before any work
    written = summarize_results(results, by_sample, confidence, output)
    warning = incomplete_warning(results)
    if warning is not None:
        click.echo(warning, err=True)
    if quiet:
        return
    metrics = pd.read_csv(written["ensemble_metrics"], dtype={"arm": str})
    diffs = pd.read_csv(written["ensemble_differences"], dtype={"arm": str})
    # in this order: the shock, the recovery, the chain, the pools, the cost; each
    # adjustment's direction on its own line (the largest in size, with its sign, averages
    # a rise in one replicate with a fall in another)
    headline = ("pre_shock_hashrate", "trough_hashrate", "drop", "days_to_recover_90",
                "days_to_recover_100", "largest_downward_adjustment",
                "largest_upward_adjustment", "pool_hhi_after", "energy", "co2")
    # and what the rigs chose, where some arm's rigs chose anything: the question of a ban's
    # arms (how many waited, left, hid), which the headline alone did not answer
    decided = metrics[metrics["metric"].str.startswith("decided.") & (metrics["mean"] != 0)]
    headline += tuple(dict.fromkeys(decided["metric"]))
    level = f"{confidence:.0%}"
    # (with --by-sample, one block per design point, named: its rows alone would not say)
    point = ["sample"] if "sample" in metrics.columns else []
    for (arm, *where, coin), group in metrics.groupby(["arm", *point, "coin"], sort=False):
        at = "".join(f" · sample {s}" for s in where)
        click.echo(f"\n{arm}{at} · {coin}   mean [{level} CI]   (median; 5–95 %)   unit   "
                   "runs with a value")
        for row in _headline_rows(group, headline, ("mean", "ci_low", "ci_high", "median",
                                                    "p05", "p95")):
            click.echo(f"  {row['metric']:<27} {_g(row['mean'])} [{_g(row['ci_low'])}, "
                       f"{_g(row['ci_high'])}]  ({_g(row['median'])}; {_g(row['p05'])}–"
                       f"{_g(row['p95'])})  {row['unit']}   n={row['n']}")
    point = ["sample"] if "sample" in diffs.columns else []
    for (arm, ref, *where, coin), group in diffs.groupby(["arm", "reference", *point, "coin"],
                                                         sort=False):
        at = "".join(f" · sample {s}" for s in where)
        pairs = "replicate" if where else "(sample, replicate)"
        click.echo(f"\n{arm} − {ref}{at} · {coin}, paired by {pairs}")
        for row in _headline_rows(group, headline, ("mean_diff", "ci_low", "ci_high")):
            click.echo(f"  {row['metric']:<27} {_g(row['mean_diff'])} [{_g(row['ci_low'])}, "
                       f"{_g(row['ci_high'])}]  {row['unit']}")
    click.echo("", err=True)
    click.echo("wrote " + ", ".join(str(p) for p in written.values()), err=True)
    if warning is not None:
        click.echo(warning, err=True)


def _headline_rows(group: pd.DataFrame, headline: tuple[str, ...], figures: tuple[str, ...]
                   ) -> list[dict[str, Any]]:
    """The rows of `group` whose metric is in `headline`, in its order, with their `figures`
    in the unit that reads (a hashrate in EH/s … H/s, as the figures show it; dollars in k,
    M or bn USD: :func:`_in_display_units`), the same for all of a row's figures."""
    from sim.experiments.compare import records

    rank = {metric: i for i, metric in enumerate(headline)}
    rows = sorted(records(group[group["metric"].isin(headline)]),
                  key=lambda row: rank[row["metric"]])
    return [_in_display_units(row, figures) for row in rows]


def _in_display_units(row: dict[str, Any], figures: tuple[str, ...]) -> dict[str, Any]:
    """`row` with its `figures` in EH/s … H/s where its unit is a hashrate's (H/s, or
    "H/s (7-day mean)"), and in k, M or bn USD where it is USD (revenue.<region>: 93.8 M USD,
    not 93,810,520), whichever reads for the largest of them; its unit renamed."""
    from sim.rundata import hashrate_scale, usd_scale

    unit = str(row.get("unit") or "")
    hashrate = unit == "H/s" or unit.startswith("H/s ")
    if not (hashrate or unit == "USD"):
        return row
    top = max((abs(row[f]) for f in figures if row[f] == row[f]), default=0.0)
    scale, name = hashrate_scale(top) if hashrate else usd_scale(top)
    rest = unit[len("H/s"):] if hashrate else ""
    return row | {f: row[f] / scale for f in figures} | {"unit": name + rest}


def _g(x: float) -> str:
    """A figure in a line of its own: thousands written out (357,467 rigs, not 3.575e+05),
    four significant digits otherwise."""
    if x != x:
        return "nan"
    return f"{x:,.0f}" if 1e3 <= abs(x) < 1e8 else f"{x:.4g}"


# ---------------------------------------------------------------------------- sensitivity


@click.command()
@click.argument("results", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--metric", required=True, help="Summary metric, e.g. drop or "
              "days_to_recover_90 (its mean over replicates is the output of a design point).")
@click.option("--coin", help="Coin of the metric (needed when the scenario has several).")
@click.option("--arm", "arms", multiple=True, help="Arm(s) to analyse [default: each].")
@click.option("--resamples", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Bootstrap resamples for the confidence intervals.")
@click.option("--confidence", type=CONFIDENCE, default=0.95,
              show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the bootstrap.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file [default: RESULTS/sensitivity_<metric>.csv, replaced when it "
              "exists].")
@click.option("-f", "--force", is_flag=True, help="Replace the -o file if it exists.")
@_report_errors
def sensitivity(results: Path, metric: str, coin: str | None, arms: Sequence[str],
                resamples: int, confidence: float, seed: int, output: Path | None,
                force: bool) -> None:
    """Sensitivity indices of a sobol or morris sweep.

    sobol: first-order (S1) and total (ST) Sobol' indices; morris: mu, mu_star and sigma of
    the elementary effects (per unit of each parameter's range) — each with bootstrap
    confidence intervals. A sweep with runs missing (failed or not yet run) is refused: the
    indices need every design point (hashsim sweep … --resume reruns them).
    """
    from sim.experiments.compare import records
    from sim.experiments.sensitivity import analyze, write

    target = output or results / f"sensitivity_{metric}.csv"
    # before the bootstrap; the default file (the sweep's own) is replaced without --force
    check_output(target, force or output is None, "sensitivity table", folder=False)
    df = analyze(results, metric, coin, arms, resamples, confidence, seed)
    write(df, target)
    level = f"{confidence:.0%}"
    for (arm, coin_name), group in df.groupby(["arm", "coin"], sort=False):
        unit = group["unit"].iloc[0] if "unit" in group.columns else ""
        per = (f"; mu, mu* and sigma in {unit} per the parameter's full range" if unit
               and "mu" in df.columns else "")
        click.echo(f"\n{metric} · {arm} · {coin_name}  ({level} bootstrap intervals, "
                   f"n = {group['n'].iloc[0]}{per})")
        partial = int(group["points_partial"].iloc[0])
        if partial:
            click.echo(f"warning: {metric} · {arm}: at {partial} design point(s) some "
                       "replicates have no value (e.g. a recovery not reached within the run); "
                       "their output is the mean of the others (points_partial in the CSV)",
                       err=True)
        for row in records(group):
            if "S1" in df.columns:
                click.echo(f"  {row['parameter']:<24} S1 {row['S1']:7.3f} [{row['S1_low']:6.3f}, "
                           f"{row['S1_high']:6.3f}]   ST {row['ST']:7.3f} [{row['ST_low']:6.3f}"
                           f", {row['ST_high']:6.3f}]")
            else:
                click.echo(f"  {row['parameter']:<24} mu* {_g(row['mu_star'])} "
                           f"[{_g(row['mu_star_low'])}, {_g(row['mu_star_high'])}]   mu "
                           f"{_g(row['mu'])}   sigma {_g(row['sigma'])}")
    click.echo(f"wrote {target}", err=True)


# ---------------------------------------------------------------------------- compare


@click.command()
@click.argument("a", type=click.Path(exists=True, path_type=Path))
@click.argument("b", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for comparison.csv, nrmse.csv, inputs_diff.txt and overlay PNGs.")
@click.option("--table", default="network", show_default=True,
              help="Table of dated series compared by NRMSE (folders only).")
@click.option("--arm", "arms", multiple=True, help="Compare only these arms of sweeps.")
@click.option("--metric", "patterns", multiple=True, metavar="PATTERN",
              help="Metrics/series that count for --fail-above (glob, e.g. 'drop' or "
              "'final_share.*'); one that matches none is an error. Repeatable "
              "[default: all].")
@click.option("--by-sample", is_flag=True,
              help="Compare two sweeps of the same design point by point.")
@click.option("--fail-above", type=FiniteFloat(min=0), metavar="PCT",
              help="Exit 1 if a metric's relative delta or a series' NRMSE exceeds PCT %, a "
              "metric or series has values on one side only, or the share of runs with a "
              "value of a metric differs between A and B.")
@click.option("--confidence", type=CONFIDENCE, default=0.95,
              show_default=True)
@click.option("--no-plots", is_flag=True, help="With -o: no PNG files.")
@click.option("-f", "--force", is_flag=True,
              help="With -o: replace the comparison's files in an existing folder.")
@_report_errors
def compare(a: Path, b: Path, output: Path | None, table: str, arms: Sequence[str],
            patterns: Sequence[str], by_sample: bool, fail_above: float | None,
            confidence: float, no_plots: bool, force: bool) -> None:
    """Compare results A and B (two results folders, or two CSV files of the same table).

    Prints the differences of their inputs (scenario, seed, experiment), the summary metrics
    side by side with delta = B − A, relative delta and — with replicates — the confidence
    interval of the delta, and the NRMSE of the main series (100·RMS(B − A)/mean|A|).
    """
    from sim.experiments import compare as cmp
    from sim.experiments.ensemble import incomplete_warning

    side_a = cmp.load_side(a, table, arms)
    side_b = cmp.load_side(b, table, arms)
    for side in (side_a, side_b):  # failed runs are in no table: their means leave them out
        warning = incomplete_warning(side.path, "compare") if side.kind == "sweep" else None
        if warning is not None:
            click.echo(f"{side.path}: {warning}", err=True)
    plots = not no_plots and side_a.series is not None and side_b.series is not None
    if output is not None:  # an existing folder, one that cannot be made, or plots without
        # matplotlib: before any output (the whole comparison was printed, then refused)
        cmp.check_output(output, force, plots)
    result = cmp.compare(side_a, side_b, by_sample, confidence, patterns)
    _print_comparison(result)
    if output is not None:
        written = cmp.write(result, output, plots=plots, force=force)
        click.echo(f"wrote {len(written)} file(s) to {output}/", err=True)
    if fail_above is not None:
        over = result.exceeding(fail_above, patterns)
        if over:
            for line in over[:20]:
                click.echo(f"  above {fail_above:g} %: {line}", err=True)
            _fail(f"check failed: {len(over)} difference(s) above {fail_above:g} %",
                  EXIT_CHECK_FAILED)
        click.echo(f"check passed: no difference above {fail_above:g} %", err=True)


def _print_comparison(result: Any) -> None:
    from sim.experiments.compare import coverage, records

    click.echo(f"A: {result.a.path}\nB: {result.b.path}")
    if result.input_diff:
        click.echo(f"\ninputs: {len(result.input_diff)} difference(s)")
        # the model's inputs first; the figures a backtest holds the run against (`observed`)
        # are not inputs, and hundreds of them hid the policies that differ
        observed: dict[str, int] = {}
        inputs = []
        for item in result.input_diff:
            parts = item[0].split(".")
            if "observed" in parts:
                prefix = ".".join(parts[:parts.index("observed") + 1])
                observed[prefix] = observed.get(prefix, 0) + 1
            else:
                inputs.append(item)
        lines = _input_lines(inputs)
        for line in lines[:40]:
            click.echo(f"  {line}")
        if len(lines) > 40:
            click.echo(f"  … {len(lines) - 40} more (-o writes them all)")
        for prefix, n in observed.items():
            click.echo(f"  {prefix}: {n} difference(s) in the observed figures a backtest "
                       "holds the run against, not model inputs (-o writes them)")
    elif result.a.kind != "table":
        click.echo("\ninputs: identical")
    m = result.metrics
    if not m.empty:
        keys = [c for c in ("arm", "sample", "coin") if c in m.columns]
        click.echo("\nmetrics: A → B, delta (relative) [CI of the delta]  unit")
        for key, group in m.groupby(keys, sort=False) if keys else [((), m)]:
            label = " · ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))
            if label:
                click.echo(f"  {label}")
            for row in records(group):
                row = _in_display_units(row, ("a_mean", "b_mean", "delta", "ci_low",
                                              "ci_high"))
                ci = "" if row["ci_low"] != row["ci_low"] else \
                    f" [{_g(row['ci_low'])}, {_g(row['ci_high'])}]"
                pct = row["delta_pct"]
                rel = "" if pct != pct else f" ({pct:+.2f} %)"
                unit = row.get("unit")
                unit = f"  {unit}" if isinstance(unit, str) and unit else ""
                click.echo(f"    {row['metric']:<32} {_g(row['a_mean'])} → {_g(row['b_mean'])}"
                           f"  {_g(row['delta'])}{rel}{ci}{unit}{coverage(row)}")
    n = result.nrmse
    if not n.empty:
        click.echo("\nseries: NRMSE (% of mean |A|), and the mean of each side over the dates")
        labels = [c for c in n.columns if c not in ("series", "dates", "rmse", "nrmse_pct",
                                                    "a_mean", "b_mean", "mean_delta")]
        for row in records(n):
            # (regions.csv's aggregate flag names a parent region, not a key of its own)
            parent = "aggregate" in labels and str(row["aggregate"]) == "True"
            label = " · ".join([*(str(row[c]) for c in labels if c != "aggregate"),
                                *(["(all its regions)"] if parent else [])])
            # a hashrate series' means in EH/s … H/s, as its metrics (the table keeps H/s)
            hs = str(row["series"]).endswith("_hs")
            row = _in_display_units(row | {"unit": "H/s" if hs else ""}, ("a_mean", "b_mean"))
            unit = f" {row['unit']}" if row["unit"] else ""
            click.echo(f"  {label:<30} {row['series']:<28} {row['nrmse_pct']:8.3f} %  "
                       f"({row['dates']} dates)  mean {_g(row['a_mean'])} → "
                       f"{_g(row['b_mean'])}{unit}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def _input_lines(diff: list[tuple[str, Any, Any]]) -> list[str]:
    """The input differences as printed: an item (a policy, a service…) only one side has is
    one line, with what it is, not a line per field (-o writes every field)."""
    groups: dict[str, list[tuple[str, Any, Any]]] = {}
    for item in diff:
        groups.setdefault(item[0].rsplit(".", 1)[0], []).append(item)
    only: dict[str, str] = {}  # the items one side lacks: prefix → the side that has it
    for prefix, group in groups.items():
        if len(group) >= 2 and all(b == "—" for _, _, b in group):
            only[prefix] = "A"
        elif len(group) >= 2 and all(a == "—" for _, a, _ in group):
            only[prefix] = "B"
    lines, done = [], set()
    for key, va, vb in diff:
        prefix = key.rsplit(".", 1)[0]
        if prefix in only:
            if prefix not in done:
                done.add(prefix)
                fields = {k.rsplit(".", 1)[1]: (a if only[prefix] == "A" else b)
                          for k, a, b in groups[prefix]}
                what = ", ".join(str(fields[f]) for f in ("kind", "region", "date")
                                 if fields.get(f) is not None)
                lines.append(f"{prefix}: only in {only[prefix]}" + (f" ({what})" if what
                                                                    else ""))
        elif not any(key.startswith(f"{p}.") for p in only):  # (inside an item shown above)
            lines.append(f"{key}: {_short(va)} → {_short(vb)}")
    return lines


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
