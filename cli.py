"""The `hashsim` command line. No model logic here: parse, call `sim`, print.

Exit codes: 0 success; 1 a check failed (e.g. backtest bands); 2 usage error or refused
overwrite; 3 invalid scenario or input file; 4 some runs of a sweep failed.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import click

from sim.commands.common import (
    check_output,
    default_output,
    echo_notes,
    experiment_file,
    fail,
    report_errors,
)

EXIT_INVALID = 3


_fail = fail
_report_errors = report_errors


def _display(coin_rule: str) -> tuple[float, str]:
    return (1e18, "EH/s") if coin_rule == "bitcoin" else (1e12, "TH/s")


class _Commands(click.Group):
    """hashsim's commands; a word users try for one of them points at it."""

    HINTS: ClassVar[dict[str, str]] = {
        "check": "validate", "simulate": "run", "list": "scenarios", "fit": "calibrate",
        "experiment": "sweep", "html": "report", "diff": "compare"}

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in self.HINTS and self.get_command(ctx, args[0]) is None:
            ctx.fail(f"No such command '{args[0]}'. Did you mean '{self.HINTS[args[0]]}'?")
        return super().resolve_command(ctx, args)


@click.group(cls=_Commands,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hashsim", prog_name="hashsim")
def main() -> None:
    """hashsim: simulate mining bans, pool shutdowns and hashrate migration.

    \b
    Start with the bundled teaching world:
      hashsim scenarios                      # what is bundled
      hashsim run tutorial -o results/tutorial --seed 1
      hashsim validate my-scenario.yaml      # check a file, with line numbers

    \b
    Exit codes: 0 success, 1 a check failed, 2 usage error (or an existing output
    without --force, or a missing optional package), 3 an invalid scenario or input
    file, 4 some runs of a sweep failed, 130 interrupted, 70 an internal error (a
    bug: please report it with its traceback).
    """
    _stop_on_sigterm(click.get_current_context())


def _stop_on_sigterm(ctx: click.Context) -> None:
    """Treat SIGTERM (`kill`, `timeout`, a batch scheduler) as Ctrl-C for the command, so
    that it cleans up as after an interrupt: no half-written folder, a sweep's workers
    stopped and its manifest marked interrupted."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return  # (only the main thread may set handlers: an embedding program's choice)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@main.command()
@click.argument("scenario", required=False)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Results directory [default: results/<scenario name>].")
@click.option("--seed", type=click.IntRange(min=0), help="Master seed; without it the "
              "scenario's seed is used, else a fresh one is drawn (and recorded in run.json).")
@click.option("-r", "--replicates", type=click.IntRange(min=1), default=None,
              help="Seeded replicates to run into the same files [default: 1].")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE",
              help="Override a scenario value, e.g. --set behaviour.horizon_days=90 or "
              "--set regions.sichuan.capacity_mw=100 (validated like the file). Repeatable.")
@click.option("--from", "from_run", type=click.Path(dir_okay=False, path_type=Path),
              help="Repeat a run exactly from its run.json (scenario, seed, replicates).")
@click.option("--rig", is_flag=True, help="Rig mode: one row per rig (resolution: rig) "
              "instead of cohorts of identical rigs; the same model and the same aggregates "
              "in distribution (docs/performance.md). Same as --set resolution=rig.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing results directory "
              "(hashsim's own output only: one with a run.json, manifest.json or "
              "calibration.json).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@_report_errors
def run(scenario: str | None, output: Path | None, seed: int | None, replicates: int | None,
        overrides: Sequence[str], from_run: Path | None, rig: bool, force: bool,
        quiet: bool) -> None:
    """Run SCENARIO (a YAML file or a bundled scenario's name) and write its results.

    Writes network.csv, regions.csv, pools.csv, facilities.csv, flows.csv, decisions.csv,
    events.csv, summary.csv and run.json (scenario as resolved, seed, replicates, versions,
    command) into the output directory, atomically, then prints a summary. Repeating a run
    with the same --seed gives byte-identical CSVs, and replicate k is the same however many
    run; --from RUN_JSON repeats one exactly.

    Exit codes: 0 written; 2 usage error or an existing directory without --force; 3 an
    invalid scenario (every problem as file:line:col: field: message), nothing written.
    """
    import sim
    from sim.results import run as run_scenario

    if from_run is not None:
        if scenario is not None or overrides or rig:
            _fail("error: --from repeats a run as it was; give no SCENARIO, --set or --rig "
                  "with it", 2)
        loaded, run_seed, reps = _load_run_json(from_run, seed, replicates)
        seed_used: int | None = run_seed
    else:
        if scenario is None:
            _fail("error: give a SCENARIO (file or bundled name; see `hashsim scenarios`) "
                  "or --from RUN_JSON", 2)
        if experiment_file(scenario) is not None:  # (its keys would read as ten typos)
            _fail(f"error: {scenario} is an experiment file (arms, replicates, design or "
                  f"parameters), not a scenario: run it with `hashsim sweep {scenario}`", 2)
        every = [*overrides, *(["resolution=rig"] if rig else [])]
        loaded = sim.load(scenario, every)
        echo_notes(scenario, every, loaded)
        seed_used = seed
        reps = replicates or 1
    target = output or default_output(loaded.name)
    check_output(target, force, "results directory")
    results = _with_progress(lambda hook: run_scenario(
        loaded, seed=seed_used, replicates=reps, on_day=hook, command=sys.argv),
        total=loaded.num_days * reps, quiet=quiet)
    results.write(target, force=force)
    if not quiet:
        _print_summary(results)
    click.echo(f"wrote {target}/ (seed {results.seed})", err=True)


def _load_run_json(path: Path, seed: int | None, replicates: int | None) -> tuple[Any, int, int]:
    from sim.errors import HashsimError
    from sim.experiments.errors import InputError
    from sim.results import scenario_hash, version_diffs, versions
    from sim.validation import scenario_from

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HashsimError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a readable run.json ({err})") from None
    missing = [k for k in ("scenario", "seed", "replicates") if not isinstance(doc, dict)
               or k not in doc]
    if missing:
        raise InputError(f"{path}: not a hashsim run.json (no {', '.join(missing)}; "
                         "hashsim run writes one beside its tables)")
    for key in ("seed", "replicates"):
        if not (isinstance(doc[key], int) and not isinstance(doc[key], bool)
                and doc[key] >= (0 if key == "seed" else 1)):
            raise InputError(f"{path}: {key} must be a whole number"
                             f"{' ≥ 1' if key == 'replicates' else ' ≥ 0'}, not "
                             f"{json.dumps(doc[key])}")
    try:  # checked as a scenario file is, with its messages
        scenario = scenario_from(doc["scenario"], str(path), ("scenario",))
    except (TypeError, ValueError) as err:
        raise InputError(f"{path}: scenario: {err}") from None
    run_seed, run_reps = doc["seed"], doc["replicates"]
    if seed is not None and seed != run_seed:
        raise HashsimError(f"--seed {seed} differs from the run's seed {run_seed}")
    # the same results need the same scenario and the same libraries: say where they differ
    if doc.get("scenario_hash") not in (None, scenario_hash(scenario)):
        click.echo(f"warning: {path}: its scenario no longer matches its scenario_hash (edited "
                   "since, or written by another hashsim version): this scenario is run, "
                   "which may differ from the one recorded", err=True)
    recorded, here = doc.get("versions"), versions()
    if isinstance(recorded, dict):
        differ = version_diffs(here, recorded)
        if differ:
            click.echo(f"warning: {path} was written with {', '.join(differ)}; results are "
                       "identical only with the same versions", err=True)
    return scenario, run_seed, replicates or run_reps


def _with_progress(job: Callable[[Any], Any], total: int, quiet: bool) -> Any:
    from tqdm import tqdm

    show = not quiet and sys.stderr.isatty()
    with tqdm(total=total, unit="day", disable=not show, file=sys.stderr, leave=False) as bar:
        return job(lambda _rep, _day: bar.update(1))


def _print_summary(results: Any) -> None:
    import numpy as np
    import pandas as pd

    from sim.summary import shock_date

    summary = results.summary
    n = results.replicates
    shocked = shock_date(results.scenario) is not None
    for i, coin in enumerate(results.scenario.coins):
        scale, unit = _display(coin.rule)
        s = summary[(summary["coin"] == coin.name)]
        by = {m: g for m, g in s.groupby("metric", sort=False)}

        def median(metric: str, by: dict[Any, pd.DataFrame] = by) -> float | None:
            g = by.get(metric)
            values = g["value"].to_numpy(dtype=float) if g is not None else np.array([])
            values = values[np.isfinite(values)]
            return float(np.median(values)) if 2 * len(values) > n else None

        def when(metric: str, by: dict[Any, pd.DataFrame] = by) -> str:
            days = sorted({d for d in by[metric]["date"] if isinstance(d, str) and d})
            return "" if not days else days[0] if len(days) == 1 else f"{days[0]} … {days[-1]}"

        reps = f" (median of {n} replicates)" if n > 1 else ""
        click.echo(("\n" if i else "") + f"{coin.name}{reps}")  # a blank line between coins
        pre, trough, drop = (median(m) for m in ("pre_shock_hashrate", "trough_hashrate",
                                                  "drop"))
        # a hashrate that never fell below its level before the shock has no trough to
        # speak of, nor a recovery (the metrics are still in summary.csv: drop ≤ 0)
        no_fall = drop is not None and drop <= 0.0
        if pre is not None and trough is not None and drop is not None:
            if shocked:
                click.echo(f"  hashrate before shock   {pre / scale:10.2f} {unit}  (mean of the "
                           "7 days before it)")
            else:  # (summary.csv measures from the start: sim/summary.py)
                click.echo(f"  hashrate at the start   {pre / scale:10.2f} {unit}  (mean of the "
                           "first 7 days: no shock within the run)")
            if no_fall:
                click.echo("  trough (7-day mean)     none: the hashrate did not fall below "
                           f"its level {'before the shock' if shocked else 'at the start'}")
            else:
                click.echo(f"  trough (7-day mean)     {trough / scale:10.2f} {unit}  on "
                           f"{when('trough_hashrate')}  (drop {drop:.1f} %)")
        for metric, label in (("largest_upward_adjustment", "largest upward"),
                              ("largest_downward_adjustment", "largest downward")):
            if metric in by:
                value = median(metric)
                text = f"{value:+10.2f} %     on {when(metric)}" if value is not None else \
                    "      none" + ("" if n == 1 else " (in most replicates)")
                click.echo(f"  {label:<23} {text}")
        for level in (90, 100) if not no_fall else ():
            g = by.get(f"days_to_recover_{level}")
            days = g["value"].to_numpy(dtype=float) if g is not None else np.array([])
            reached = int(np.isfinite(days).sum())
            # a replicate that does not recover within the run counts as later than any
            mid = float(np.median(np.where(np.isfinite(days), days, np.inf))) if len(days) \
                else float("inf")
            text = f"{mid:.0f} days after the trough" if np.isfinite(mid) else \
                "not within the run"
            if n > 1 and reached < n:
                text += f" ({reached} of {n} replicates recovered)"
            click.echo(f"  recovery to {level:3d} %       {text}")
        finals = [m for m in by if m.startswith("final_share.")]
        leaves = set(results.scenario.leaf_regions)
        shares = {m.split(".", 1)[1]: median(m) for m in finals
                  if m.split(".", 1)[1] in leaves}
        top = sorted(((v, r) for r, v in shares.items() if v is not None), reverse=True)[:6]
        text = ", ".join(f"{r} {v:.1%}" for v, r in top)
        click.echo(f"  final shares            {text}")
        # who earned what: the leaf regions' revenue over the run (before pool fees), largest
        # first
        earned = {m.split(".", 1)[1]: median(m) for m in by if m.startswith("revenue.")}
        top_usd = sorted(((v, r) for r, v in earned.items() if v), reverse=True)[:6]
        if top_usd:
            from sim.rundata import usd_scale

            k, unit = usd_scale(top_usd[0][0])
            click.echo(_wrap_items(f"revenue ({unit})",
                                   [f"{r} {v / k:,.1f}" for v, r in top_usd]))
        chose = {m.split(".", 1)[1]: median(m) for m in by if m.startswith("decided.")}
        made = sorted(((v, c) for c, v in chose.items() if v), reverse=True)
        if made:  # (the labels of the decisions figure)
            from sim.plot_style import CHOICE_LABELS

            click.echo(_wrap_items("decisions (rigs)",
                                   [f"{v:,.0f} {CHOICE_LABELS[c]}" for v, c in made]))


def _wrap_items(label: str, items: list[str], width: int = 100) -> str:
    """A summary line: `label` in a column of 26, then `items` joined by commas, wrapped at
    `width` between items only (a region stays beside its figure, a count with its label:
    china-2021 split "russia" / "195.6" and "went" / "underground")."""
    text = ", ".join(item.replace(" ", "\xa0") for item in items)  # (no-break spaces)
    return textwrap.fill(text, width, initial_indent=f"  {label}".ljust(26),
                         subsequent_indent=" " * 26, break_on_hyphens=False
                         ).replace("\xa0", " ")


@main.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE",
              help="Validate with these overrides applied.")
def validate(scenarios: Sequence[str], overrides: Sequence[str]) -> None:
    """Check scenario files (or experiment files, as `hashsim sweep` would); print every
    problem as file:line:col: field: message.

    Exit code 0 if all are valid, 3 if any is not.
    """
    import sim
    from sim.errors import ScenarioError

    bad = 0
    for name in scenarios:
        try:
            experiment = experiment_file(name)
            if experiment is not None:  # an experiment file: checked as `sweep` checks it
                from sim.experiments.plan import prepare

                plan = prepare(experiment, overrides)
                click.echo(f"ok: {name} (experiment {plan.experiment.name}: "
                           f"{plan.num_tasks:,} runs of {len(plan.arms)} arm(s); "
                           f"run it with `hashsim sweep {name}`)")
                continue
            sc = sim.load(name, overrides)
        except ScenarioError as err:
            bad += 1
            for issue in err.issues:
                click.echo(str(issue), err=True)
            continue
        click.echo(f"ok: {name} ({sc.name}: {sc.start} … {sc.end}, {len(sc.regions)} regions, "
                   f"{sum(f.rigs for f in sc.fleet):,} rigs, {len(sc.policies)} policies)")
        echo_notes(name, overrides, sc, err=False)
    if bad:
        _fail(f"error: {bad} of {len(scenarios)} file(s) invalid", EXIT_INVALID)


@main.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors and other tools)."""
    from sim.validation import schema_json

    click.echo(schema_json(), nl=False)


@main.command()
def scenarios() -> None:
    """List the bundled scenarios (run one with `hashsim run NAME`) and experiments (run one
    with `hashsim sweep NAME`)."""
    from sim.bundled import bundled_experiments, bundled_scenarios, describe

    found = bundled_scenarios()
    if not found:
        _fail("error: no bundled scenarios found (broken installation?)", 1)
    experiments = bundled_experiments()
    width = max(len(n) for n in [*found, *experiments])
    for name, path in found.items():
        click.echo(f"{name:<{width}}  {describe(path)}")
    if experiments:
        click.echo("\nexperiments (hashsim sweep NAME):")
        for name, path in experiments.items():
            click.echo(f"{name:<{width}}  {describe(path)}")


def _register() -> None:
    from sim.commands.experiments import compare, sensitivity, summarize, sweep
    from sim.commands.history import backtest, calibrate
    from sim.commands.visual import demo, plot, report

    for command in (backtest, calibrate, plot, report, demo, sweep, summarize, sensitivity,
                    compare):
        main.add_command(command)


_register()

if __name__ == "__main__":
    main()
